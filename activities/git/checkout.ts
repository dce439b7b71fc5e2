import { execFile } from 'node:child_process';
import { mkdir, realpath, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type { GitSecrets, GitSettings } from '../../contracts/integrations/git.ts';
import { within } from '../process/sandbox-files.ts';
import type { GitSource } from '../../contracts/kinds/source.ts';
import { FAILURE_TYPES } from '../../contracts/temporal.ts';
import { knownHostsFor } from '../ssh/known-hosts.ts';
import { redactor } from '../process/redact.ts';

export type GitCredentials = { settings: GitSettings; secrets: GitSecrets };

const invalid = (message: string) => ApplicationFailure.create({ message, type: FAILURE_TYPES.invalidConfig, nonRetryable: true });

function run(bin: string, args: string[], opts: { cwd: string; env: Record<string, string>; signal: AbortSignal; input?: string }): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(bin, args, { cwd: opts.cwd, env: opts.env, signal: opts.signal, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && typeof (err as { code?: unknown }).code !== 'number') return reject(err);
      resolve({ code: err ? Number((err as { code: number }).code) : 0, stdout, stderr });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** The server an SSH URL names (`ssh://[user@]host[:port]/…` or scp-like `user@host:path`). */
function sshHost(url: string): { host: string; port: number } {
  const m = /^ssh:\/\/(?:[^@/]+@)?([^/:]+)(?::(\d+))?\//.exec(url) ?? /^[^@]+@([^:]+):/.exec(url);
  return { host: m?.[1] ?? '', port: Number(m?.[2] ?? 22) };
}

/**
 * Fetches `source.ref` of `source.url` (depth 1) into `dest` and checks it out; returns the commit.
 * Runs as the worker (ssh needs a user account, which sandbox uids have not), so only what git does
 * on a fetch runs: no hooks are fetched, transports other than https/ssh/git are refused, and the
 * credentials go through the environment and files the worker removes at once, never a command line.
 */
export async function checkout(opts: { source: GitSource; dest: string; scratch: string; credentials?: GitCredentials; signal: AbortSignal }): Promise<{ commit: string }> {
  const { source, dest, scratch, credentials, signal } = opts;
  if (credentials && credentials.settings.url !== source.url) {
    // A token or key is only ever sent to the repository it was stored for.
    throw invalid(`source.url must be the git integration's repository (${credentials.settings.url})`);
  }
  await mkdir(scratch, { recursive: true, mode: 0o700 });
  await mkdir(dest, { recursive: true, mode: 0o700 });
  const secrets: string[] = [];
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: scratch,
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_ALLOW_PROTOCOL: 'https:http:ssh:git',
  };
  try {
    if (credentials?.secrets.privateKey) {
      const key = path.join(scratch, 'id');
      await writeFile(key, `${credentials.secrets.privateKey.trim()}\n`, { mode: 0o600 });
      if (credentials.secrets.passphrase) {
        secrets.push(credentials.secrets.passphrase);
        const opened = await run('ssh-keygen', ['-p', '-q', '-P', credentials.secrets.passphrase, '-N', '', '-f', key], { cwd: scratch, env, signal });
        if (opened.code !== 0) throw invalid('the git integration\'s key could not be opened with its passphrase');
      }
      // A fingerprint-only pin is matched against the key the server presents now, trusted because its fingerprint is the pinned one.
      const { host, port } = sshHost(source.url);
      const { lines } = await knownHostsFor({ address: host, port }, credentials.settings.hostKeys, signal);
      await writeFile(path.join(scratch, 'known_hosts'), lines.join('\n') + '\n');
      env.GIT_SSH_COMMAND = `ssh -i ${key} -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${path.join(scratch, 'known_hosts')}`;
    } else if (credentials?.secrets.token) {
      const basic = Buffer.from(`${credentials.settings.username ?? 'x-access-token'}:${credentials.secrets.token}`).toString('base64');
      secrets.push(credentials.secrets.token, basic);
      Object.assign(env, { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'http.extraHeader', GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}` });
    }
    const redact = redactor(secrets);
    const git = async (args: string[]) => {
      const r = await run('git', args, { cwd: dest, env, signal });
      if (r.code !== 0) {
        // Five lines: git ends with three of its own ("Could not read from remote repository" …) after the reason ssh gave.
        const why = redact(r.stderr.trim().split('\n').filter(Boolean).slice(-5).join('; ')) || `exit ${r.code}`;
        throw invalid(`could not fetch ${source.ref} from ${source.url}: ${why}`);
      }
      return r.stdout.trim();
    };
    await git(['init', '-q']);
    await git(['remote', 'add', 'origin', source.url]);
    await git(['fetch', '-q', '--depth', '1', 'origin', source.ref]);
    await git(['-c', 'advice.detachedHead=false', 'checkout', '-q', 'FETCH_HEAD']);
    return { commit: await git(['rev-parse', 'HEAD']) };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * Where a run's `source.path` leads in a checkout, or null when it does not exist. Refused (thrown)
 * when a symbolic link in the repository leads it outside the checkout: the worker would copy a
 * directory of its own host where the run can read it.
 */
export async function sourceDir(checkoutDir: string, sourcePath: string): Promise<string | null> {
  const real = await realpath(path.join(checkoutDir, sourcePath)).catch(() => null);
  if (!real) return null;
  const top = await realpath(checkoutDir);
  if (!within(top, real)) throw new Error(`${sourcePath} leads outside the repository (a symbolic link)`);
  return real;
}
