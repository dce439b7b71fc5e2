import { createHash } from 'node:crypto';
import type ssh2 from 'ssh2';
import { FINGERPRINT, KNOWN_HOSTS_LINE } from '../../contracts/integrations/ssh-material.ts';
import { onFirstUse } from '../first-use.ts';

/**
 * SSH key material, read with ssh2's key parser: the same library the SSH clients use, so a key
 * accepted here is one they can load. Formats: OpenSSH (ssh-keygen's default, encrypted or not)
 * and the older PEM ("BEGIN RSA/EC PRIVATE KEY"); PKCS#8 ("BEGIN PRIVATE KEY") is refused by name.
 */

export type SshKeyInfo = { type: string; fingerprint: string; publicKey: string };
export type KeyProblem = { field: 'privateKey' | 'passphrase'; message: string };

/** `SHA256:` + unpadded base64 of the public key blob's SHA-256: what ssh-keygen -l and ssh print. */
export const fingerprintOf = (publicKeyBlob: Buffer): string => `SHA256:${createHash('sha256').update(publicKeyBlob).digest('base64').replace(/=+$/, '')}`;

const ssh2Module = onFirstUse<typeof ssh2>('ssh2');
const parseKey = (key: string, passphrase?: string) => ssh2Module().utils.parseKey(key, passphrase);

const first = (parsed: ReturnType<typeof ssh2.utils.parseKey>) => (Array.isArray(parsed) ? parsed[0] : parsed);

/**
 * Parses and, when encrypted, decrypts a private key. A problem names the field to fix; messages
 * never quote the key (ssh2's own errors do not either, but they are not passed on as they are).
 */
export function inspectPrivateKey(privateKey: string, passphrase?: string): SshKeyInfo | KeyProblem {
  const bare = first(parseKey(privateKey));
  if (bare instanceof Error) {
    const encrypted = /encrypted/i.test(bare.message) && /no passphrase/i.test(bare.message);
    if (!encrypted) {
      const pkcs8 = privateKey.startsWith('-----BEGIN PRIVATE KEY-----') || privateKey.startsWith('-----BEGIN ENCRYPTED PRIVATE KEY-----');
      return { field: 'privateKey', message: pkcs8 ? 'PKCS#8 keys are not supported: convert with `ssh-keygen -p -f <file>` (OpenSSH format)' : 'not a private key that can be read (OpenSSH or PEM format expected)' };
    }
    if (!passphrase) return { field: 'passphrase', message: 'the private key is encrypted: give its passphrase' };
    const opened = first(parseKey(privateKey, passphrase));
    if (opened instanceof Error || !opened) return { field: 'passphrase', message: 'does not decrypt the private key' };
    return describe(opened);
  }
  if (!bare) return { field: 'privateKey', message: 'not a private key that can be read (OpenSSH or PEM format expected)' };
  if (!bare.isPrivateKey()) return { field: 'privateKey', message: 'this is a public key: paste the private key' };
  if (passphrase) return { field: 'passphrase', message: 'the private key is not encrypted: leave the passphrase empty' };
  return describe(bare);
}

function describe(key: ssh2.ParsedKey): SshKeyInfo {
  const blob = key.getPublicSSH();
  return { type: key.type, fingerprint: fingerprintOf(blob), publicKey: `${key.type} ${blob.toString('base64')}` };
}

export const isKeyProblem = (r: SshKeyInfo | KeyProblem): r is KeyProblem => 'field' in r;

/** A pinned host key: its fingerprint, and for a known_hosts line also its hosts and full key. */
export type HostKeyPin = { fingerprint: string; hosts: string | null; key: string | null };

/** Reads a pin (known_hosts line or SHA256 fingerprint); a line whose key blob does not parse is a string problem. */
export function parseHostKeyPin(pin: string): HostKeyPin | string {
  const text = pin.trim();
  if (FINGERPRINT.test(text)) return { fingerprint: text, hosts: null, key: null };
  const m = KNOWN_HOSTS_LINE.exec(text);
  if (!m) return 'must be a known_hosts line ("host ssh-ed25519 AAAA…") or a SHA256:… fingerprint';
  const [, hosts, type, base64] = m;
  const parsed = first(parseKey(`${type} ${base64}`));
  // ssh2 also refuses a blob whose embedded type differs from the line's.
  if (parsed instanceof Error || !parsed || parsed.isPrivateKey()) return 'the key in this line does not parse';
  return { fingerprint: fingerprintOf(parsed.getPublicSSH()), hosts: hosts ?? null, key: `${type} ${base64}` };
}

/**
 * True when the key a server presented (its public key blob, as ssh2's hostVerifier receives it)
 * is one of the pins. Pins that do not parse never match.
 */
export function hostKeyMatches(pins: readonly string[], presentedBlob: Buffer): boolean {
  const presented = fingerprintOf(presentedBlob);
  return pins.some((p) => {
    const pin = parseHostKeyPin(p);
    return typeof pin !== 'string' && pin.fingerprint === presented;
  });
}
