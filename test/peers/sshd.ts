import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startListening } from './listening-process.ts';
import { freePort } from './temporal.ts';

export const SSHD_BIN = process.env.SSHD_BIN ?? '/usr/sbin/sshd';

/** An ed25519 key pair from ssh-keygen (the OpenSSH tools, not our code), optionally passphrase-protected. */
export function generateKeyPair(dir: string, name: string, passphrase = ''): { privateKey: string; publicKey: string; fingerprint: string } {
  const file = path.join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', `${name}@opssight-test`, '-f', file]);
  const fingerprint = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${file}.pub`], { encoding: 'utf8' }).split(' ')[1]!;
  return { privateKey: readFileSync(file, 'utf8'), publicKey: readFileSync(`${file}.pub`, 'utf8').trim(), fingerprint };
}

export type SshdPeer = {
  host: '127.0.0.1';
  port: number;
  /** The local account the client key logs in as. */
  user: string;
  /** `SHA256:…` of this server's host key, as ssh-keygen prints it. */
  hostKeyFingerprint: string;
  /** `[127.0.0.1]:port ssh-ed25519 AAAA…`, what ssh-keyscan would give. */
  knownHostsLine: string;
  clientKey: { privateKey: string; publicKey: string; fingerprint: string; passphrase: string };
  stop: () => Promise<void>;
};

/**
 * A real OpenSSH server (Debian's openssh-server) on a free loopback port with its own host key and
 * config: key login only, for the account the tests run as (root in CI: `prohibit-password` lets a
 * key in). Each call is another host with another host key. `authorizedKeys` adds more client keys.
 */
export async function startSshd(opts: { clientKeyPassphrase?: string; authorizedKeys?: string[] } = {}): Promise<SshdPeer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'opssight-sshd-'));
  chmodSync(dir, 0o755);
  const user = os.userInfo().username;
  const port = await freePort();
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', '', '-f', path.join(dir, 'host_ed25519')]);
  const hostPub = readFileSync(path.join(dir, 'host_ed25519.pub'), 'utf8').trim().split(' ');
  const hostKeyFingerprint = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', path.join(dir, 'host_ed25519.pub')], { encoding: 'utf8' }).split(' ')[1]!;
  const passphrase = opts.clientKeyPassphrase ?? '';
  const clientKey = { ...generateKeyPair(dir, 'client', passphrase), passphrase };
  writeFileSync(path.join(dir, 'authorized_keys'), [clientKey.publicKey, ...(opts.authorizedKeys ?? [])].join('\n') + '\n');
  writeFileSync(
    path.join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${path.join(dir, 'host_ed25519')}`,
      `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      `AllowUsers ${user}`,
      'StrictModes no',
      'UsePAM no',
      // The account is this machine's own (root), whose ~/.bashrc may print on its own (pyenv's init races
      // on its shims when six sessions start at once): bash reads it for a command run by sshd only as a
      // top-level shell, so starting sessions one level down keeps hosts quiet but for the command.
      'SetEnv SHLVL=1',
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      'LogLevel VERBOSE',
    ].join('\n') + '\n',
  );
  // The privilege-separation directory Debian's sshd insists on.
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const { stop } = await startListening('sshd', SSHD_BIN, ['-D', '-e', '-f', path.join(dir, 'sshd_config')], port, () => rmSync(dir, { recursive: true, force: true }));
  return {
    host: '127.0.0.1',
    port,
    user,
    hostKeyFingerprint,
    knownHostsLine: `[127.0.0.1]:${port} ${hostPub[0]} ${hostPub[1]}`,
    clientKey,
    stop,
  };
}
