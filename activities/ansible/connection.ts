import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type { SshSecrets, SshSettings } from '../../contracts/integrations/ssh.ts';
import type { AnsibleParams } from '../../contracts/kinds/ansible.ts';
import { FAILURE_TYPES } from '../../contracts/temporal.ts';
import { knownHostsFor, knownHostsName } from '../ssh/known-hosts.ts';
import { OWN_DIR } from './workdir.ts';

export type SshLogin = { settings: SshSettings; secrets: SshSecrets };
type OwnFile = { text: string; mode?: number };

const invalid = (message: string) => ApplicationFailure.create({ message, type: FAILURE_TYPES.invalidConfig, nonRetryable: true });

/**
 * The files ansible-playbook connects with, all in the run's own directory (mode 0600, owned by the
 * run's sandbox user): the inventory, one private key per integration (opened with its passphrase
 * beforehand, see openKey), known_hosts from the pins, and a passwd entry for the sandbox uid
 * (OpenSSH's client refuses a uid without one).
 */
export async function connectionFiles(opts: {
  params: AnsibleParams;
  workDir: string;
  logins: Map<string, SshLogin>;
  sandboxUser: { uid: number; gid: number } | null;
  signal: AbortSignal;
}): Promise<Record<string, OwnFile>> {
  const { params, workDir, logins } = opts;
  const own = path.join(workDir, OWN_DIR);
  const files: Record<string, OwnFile> = {};
  const known: string[] = [];
  const hosts: Record<string, Record<string, unknown>> = {};
  const keyNo = new Map<string, number>();
  for (const h of params.inventory.hosts) {
    const login = logins.get(h.integration);
    if (!login) throw invalid(`inventory.hosts ${h.name}: integration ${h.integration} is not the team's ssh integration`);
    if (!keyNo.has(h.integration)) {
      const n = keyNo.size + 1;
      keyNo.set(h.integration, n);
      files[`keys/id-${n}`] = { text: login.secrets.privateKey };
    }
    const { lines, seen } = await knownHostsFor(h, login.settings.hostKeys, opts.signal);
    // A host that answered nothing (down, refusing) is left to ssh, which then reports it unreachable.
    if (lines.length === 0 && seen.length > 0) {
      throw invalid(`inventory.hosts ${h.name}: ${knownHostsName(h.address, h.port)} presented ${seen.join(', ')}, none of which its ssh integration pins (a changed host key, or the wrong host)`);
    }
    known.push(...lines);
    hosts[h.name] = {
      ...h.vars,
      ansible_host: h.address,
      ansible_port: h.port,
      ansible_user: login.settings.user,
      ansible_ssh_private_key_file: path.join(own, 'keys', `id-${keyNo.get(h.integration)}`),
    };
  }
  const children = Object.fromEntries(
    Object.entries(params.inventory.groups).map(([name, g]) => [name, { hosts: Object.fromEntries(g.hosts.map((h) => [h, {}])), vars: g.vars }]),
  );
  files['inventory.json'] = { text: JSON.stringify({ all: { hosts, children } }, null, 2) };
  files['known_hosts'] = { text: `${[...new Set(known)].join('\n')}\n` };
  files['extra-vars.json'] = { text: JSON.stringify(params.extraVars) };
  if (opts.sandboxUser) {
    const { uid, gid } = opts.sandboxUser;
    files['passwd'] = { text: `run-${uid}:x:${uid}:${gid}:OpsSight run:${workDir}:/bin/sh\n` };
    files['group'] = { text: `run-${uid}:x:${gid}:\n` };
  }
  return files;
}

/**
 * ssh's options for every connection: the pinned keys only, refused otherwise; the integration's key
 * only; never a password prompt. ControlPersist keeps one connection per host for the whole play.
 */
/**
 * The private key without its passphrase, for a file only the run's uid can read: ssh would otherwise
 * ask for it on every connection, and its askpass prompt cuts the key's path to 100 characters, so
 * several keys could not be told apart. ssh-keygen gets the passphrase from an askpass helper reading a
 * file in a private scratch dir (never on a command line), which is removed at once.
 */
export async function openKey(privateKey: string, passphrase: string | undefined, scratchRoot: string): Promise<string> {
  if (!passphrase) return privateKey;
  const scratch = await mkdtemp(path.join(scratchRoot, '.key-'));
  try {
    const key = path.join(scratch, 'id');
    await writeFile(key, privateKey, { mode: 0o600 });
    await writeFile(path.join(scratch, 'pass'), passphrase, { mode: 0o600 });
    await writeFile(path.join(scratch, 'askpass'), `#!/bin/sh\nexec cat '${path.join(scratch, 'pass')}'\n`, { mode: 0o700 });
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', SSH_ASKPASS: path.join(scratch, 'askpass'), SSH_ASKPASS_REQUIRE: 'force', DISPLAY: 'none' };
    const code = await new Promise<number>((resolve) => {
      const child = spawn('ssh-keygen', ['-p', '-q', '-N', '', '-f', key], { env, stdio: 'ignore', detached: true });
      child.on('error', () => resolve(-1));
      child.on('exit', (c) => resolve(c ?? -1));
    });
    if (code !== 0) throw invalid('the ssh integration\'s private key could not be opened with its passphrase');
    return await readFile(key, 'utf8');
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

export function sshArgs(workDir: string): string {
  const own = path.join(workDir, OWN_DIR);
  return [
    '-o ControlMaster=auto',
    '-o ControlPersist=60s',
    `-o UserKnownHostsFile=${path.join(own, 'known_hosts')}`,
    '-o GlobalKnownHostsFile=/dev/null',
    '-o StrictHostKeyChecking=yes',
    '-o CheckHostIP=no',
    '-o UpdateHostKeys=no',
    '-o IdentitiesOnly=yes',
    '-o PasswordAuthentication=no',
    '-o KbdInteractiveAuthentication=no',
    '-o ConnectTimeout=15',
  ].join(' ');
}

/** Where a run's ssh control sockets live on this host: short (a socket path must fit in 108 bytes), shared by its steps. */
export const controlDirOf = (workRoot: string, runId: string) => path.join(workRoot, runId, 'ssh');

/**
 * Ends the ssh master connections a play left (ControlPersist keeps them for reuse within the play):
 * a finished step must not leave logins open on the hosts, nor processes of the run's uid behind.
 */
export async function closeMasters(controlDir: string): Promise<void> {
  const sockets = await readdir(controlDir).catch(() => [] as string[]);
  await Promise.all(
    sockets.map(
      (name) =>
        new Promise<void>((resolve) => {
          execFile('ssh', ['-O', 'exit', '-o', `ControlPath=${path.join(controlDir, name)}`, 'opssight-master'], { timeout: 5_000 }, () => resolve());
        }),
    ),
  );
}
