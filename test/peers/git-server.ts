import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startListening } from './listening-process.ts';
import { freePort } from './temporal.ts';

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 'OpsSight Test', GIT_AUTHOR_EMAIL: 'test@opssight.local', GIT_COMMITTER_NAME: 'OpsSight Test', GIT_COMMITTER_EMAIL: 'test@opssight.local' } });

export type GitServerPeer = {
  /** Where the bare repositories live (`<root>/<name>.git`): what an ssh:// URL on the sshd peer points at. */
  root: string;
  port: number;
  /** git://127.0.0.1:port/<name>.git, served by `git daemon`. */
  url: (name: string) => string;
  /** Creates a bare repository holding one commit of `files` on `main`; returns that commit. */
  createRepo: (name: string, files: Record<string, string>) => string;
  stop: () => Promise<void>;
};

/**
 * A real git server: `git daemon` on a free loopback port, serving every bare repository under its
 * root (read-only, anonymous). The same repositories are reachable over SSH through the sshd peer
 * (`ssh://user@127.0.0.1:port<root>/<name>.git`), for clones that authenticate with a key.
 */
export async function startGitServer(): Promise<GitServerPeer> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'opssight-git-'));
  const port = await freePort();
  const daemonArgs = ['daemon', '--reuseaddr', `--base-path=${root}`, '--export-all', '--informative-errors', '--listen=127.0.0.1', `--port=${port}`, root];
  const { stop } = await startListening('git daemon', 'git', daemonArgs, port, () => rmSync(root, { recursive: true, force: true }));

  const createRepo = (name: string, files: Record<string, string>) => {
    const bare = path.join(root, `${name}.git`);
    git(root, 'init', '-q', '--bare', '-b', 'main', bare);
    const work = mkdtempSync(path.join(os.tmpdir(), 'opssight-git-work-'));
    try {
      git(work, 'init', '-q', '-b', 'main');
      for (const [file, text] of Object.entries(files)) {
        mkdirSync(path.dirname(path.join(work, file)), { recursive: true });
        writeFileSync(path.join(work, file), text);
      }
      git(work, 'add', '-A');
      git(work, 'commit', '-q', '-m', 'initial configuration');
      git(work, 'push', '-q', bare, 'main');
      return git(work, 'rev-parse', 'HEAD').trim();
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  };

  return { root, port, url: (name) => `git://127.0.0.1:${port}/${name}.git`, createRepo, stop };
}
