import { NodeSSH } from 'node-ssh';
import type { SshHost } from '../../contracts/kinds/ssh-command.ts';
import type { SshSecrets, SshSettings } from '../../contracts/integrations/ssh.ts';
import { fingerprintOf, hostKeyMatches, inspectPrivateKey, isKeyProblem, parseHostKeyPin } from '../../core/integrations/ssh-keys.ts';

export type SshLogin = { integrationName: string; settings: SshSettings; secrets: SshSecrets };

/** A host could not be reached or refused us: the message is for a person and never quotes key material. */
export class SshConnectError extends Error {
  /** True when trying again later may help (the host did not answer); false for a refusal that needs a person. */
  readonly transient: boolean;
  constructor(message: string, transient: boolean) {
    super(message);
    this.name = 'SshConnectError';
    this.transient = transient;
  }
}

const where = (host: SshHost) => `${host.name} (${host.address}:${host.port})`;

/** Pins of this integration written for this host (known_hosts lines naming `address` or `[address]:port`). */
function pinsNaming(pins: readonly string[], host: SshHost): string[] {
  const names = new Set([host.address, `[${host.address}]:${host.port}`]);
  return pins.flatMap((p) => {
    const pin = parseHostKeyPin(p);
    if (typeof pin === 'string' || !pin.hosts) return [];
    return pin.hosts.split(',').some((h) => names.has(h)) ? [pin.fingerprint] : [];
  });
}

/**
 * Connects to `host` with the integration's key, accepting only a host key the integration pins.
 * Every failure becomes an SshConnectError saying what was seen and what to do about it.
 */
export async function connectHost(host: SshHost, login: SshLogin, opts: { readyTimeoutMs?: number } = {}): Promise<NodeSSH> {
  const key = inspectPrivateKey(login.secrets.privateKey, login.secrets.passphrase);
  if (isKeyProblem(key)) {
    const what = key.field === 'passphrase' ? `the passphrase of the private key: ${key.message}` : `the private key: ${key.message}`;
    throw new SshConnectError(`integration ${login.integrationName}: ${what}`, false);
  }
  let presented: string | undefined;
  const ssh = new NodeSSH();
  try {
    await ssh.connect({
      host: host.address,
      port: host.port,
      username: login.settings.user,
      privateKey: login.secrets.privateKey,
      ...(login.secrets.passphrase ? { passphrase: login.secrets.passphrase } : {}),
      readyTimeout: opts.readyTimeoutMs ?? 20_000,
      keepaliveInterval: 10_000,
      hostVerifier: (blob: Buffer) => {
        presented = fingerprintOf(blob);
        return hostKeyMatches(login.settings.hostKeys, blob);
      },
    });
    return ssh;
  } catch (err) {
    ssh.dispose();
    throw explain(err as Error & { level?: string; code?: string }, host, login, key.fingerprint, presented);
  }
}

function explain(err: Error & { level?: string; code?: string }, host: SshHost, login: SshLogin, keyFingerprint: string, presented: string | undefined): SshConnectError {
  const at = where(host);
  if (/Host denied/i.test(err.message) && presented) {
    const pinned = pinsNaming(login.settings.hostKeys, host);
    if (pinned.length > 0) {
      return new SshConnectError(
        `host key of ${at} has CHANGED: it presented ${presented}, integration ${login.integrationName} pins ${pinned.join(', ')} for it. ` +
          'Refused: if the host was reinstalled, check the new key and pin it; otherwise someone may be in the middle.',
        false,
      );
    }
    return new SshConnectError(
      `host key ${presented} of ${at} is not pinned by integration ${login.integrationName}: refused. Check it (ssh-keyscan -p ${host.port} ${host.address} | ssh-keygen -lf -) and add it to the integration's host keys.`,
      false,
    );
  }
  if (err.level === 'client-authentication') {
    return new SshConnectError(`authentication failed on ${at}: user ${login.settings.user} with key ${keyFingerprint} (integration ${login.integrationName}) was refused. Is the public key in that user's authorized_keys?`, false);
  }
  if (err.code === 'ECONNREFUSED') return new SshConnectError(`connection refused by ${at}: nothing listens on port ${host.port} (is sshd running?)`, false);
  if (err.level === 'client-dns' || err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') return new SshConnectError(`cannot resolve the address of ${at}`, false);
  if (err.level === 'client-timeout' || err.code === 'ETIMEDOUT' || err.code === 'EHOSTUNREACH' || err.code === 'ENETUNREACH') {
    return new SshConnectError(`${at} is unreachable: no SSH handshake (${err.code ?? 'timed out'})`, false);
  }
  if (/passphrase|privateKey/i.test(err.message)) return new SshConnectError(`integration ${login.integrationName}: the private key cannot be used (wrong passphrase?)`, false);
  return new SshConnectError(`cannot connect to ${at}: ${err.code ?? err.message}`, true);
}
