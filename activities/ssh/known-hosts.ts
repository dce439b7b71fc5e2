import { execFile } from 'node:child_process';
import { fingerprintOf, parseHostKeyPin } from '../../core/integrations/ssh-keys.ts';

/** How known_hosts and ssh name a server: `host`, or `[host]:port` off port 22. */
export const knownHostsName = (address: string, port: number) => (port === 22 ? address : `[${address}]:${port}`);

/** What the server presents now; empty when it does not answer (ssh then refuses it by name). */
function keyscan(address: string, port: number, signal: AbortSignal): Promise<string> {
  return new Promise((resolve) => {
    execFile('ssh-keyscan', ['-p', String(port), '-T', '10', address], { signal, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } }, (_err, stdout) => resolve(stdout ?? ''));
  });
}

/**
 * known_hosts lines for one host from its integration's pins: a pinned key is written as it is; a
 * fingerprint-only pin is matched against what the host presents now (ssh-keyscan) and only a key
 * with that fingerprint is written. ssh then runs with StrictHostKeyChecking=yes against this file
 * alone, so any other key (a changed one) is refused by ssh itself, which names what it saw.
 */
export async function knownHostsFor(host: { address: string; port: number }, pins: readonly string[], signal: AbortSignal): Promise<{ lines: string[]; seen: string[] }> {
  const name = knownHostsName(host.address, host.port);
  const lines: string[] = [];
  const seen: string[] = [];
  const wanted = new Set<string>();
  for (const p of pins) {
    const pin = parseHostKeyPin(p);
    if (typeof pin === 'string') continue;
    if (pin.key) lines.push(`${name} ${pin.key}`);
    else wanted.add(pin.fingerprint);
  }
  if (wanted.size > 0) {
    for (const line of (await keyscan(host.address, host.port, signal)).split('\n')) {
      const [, type, blob] = line.trim().split(/\s+/);
      if (!type || !blob || line.startsWith('#')) continue;
      const fingerprint = fingerprintOf(Buffer.from(blob, 'base64'));
      seen.push(fingerprint);
      if (wanted.has(fingerprint)) lines.push(`${name} ${type} ${blob}`);
    }
  }
  return { lines, seen };
}
