import { createHmac } from 'node:crypto';
import { CompactEncrypt, compactDecrypt, decodeProtectedHeader } from 'jose';
import type { Config } from '../config.ts';

/**
 * Encryption at rest for integration secrets.
 *
 * The envelope is a JWE in compact form (RFC 7516, through jose): `alg: "dir"`, `enc: "A256GCM"`,
 * i.e. direct AES-256-GCM under the master key, with a fresh random 96-bit IV per secret. Its five
 * parts are exactly the envelope we need — a protected header (version = alg/enc, `kid` = the id of
 * the key, `ctx` = what the secret belongs to), an empty wrapped-key part, the IV, the ciphertext
 * and the GCM tag — and the header is authenticated as GCM's additional data, so a ciphertext copied
 * onto another row (another `ctx`) or relabelled with another key id fails to open.
 *
 * Why direct and not a per-secret data key wrapped by the master key: the master key lives in the
 * same process that uses the plaintext (no KMS or HSM holds it), the secrets are a few kilobytes,
 * and rotation rewrites each row anyway; a wrapped data key would add a second key to handle
 * without separating any trust. Random IVs keep GCM safe far beyond the number of writes an
 * integration table sees (NIST's bound is 2^32 messages per key). Should a KMS hold the master key
 * one day, `alg: "A256GCMKW"` (or a KMS wrap) is a new header value, read beside the old one.
 */
const ALG = 'dir';
const ENC = 'A256GCM';

/** A key's id: a keyed hash of the key, so it names the key without revealing anything about it. */
export const keyIdOf = (key: Buffer): string => createHmac('sha256', key).update('opssight integrations key id').digest('hex').slice(0, 16);

export class SecretKeyUnavailableError extends Error {
  constructor(keyId: string) {
    super(`secret is encrypted under key ${keyId}, which this process does not have: set it as INTEGRATIONS_KEY or add it to INTEGRATIONS_PREVIOUS_KEYS`);
    this.name = 'SecretKeyUnavailableError';
  }
}

export class SecretIntegrityError extends Error {
  constructor(reason: string) {
    super(`secret cannot be opened: ${reason}`);
    this.name = 'SecretIntegrityError';
  }
}

export type Sealed = { envelope: string; keyId: string };

export type Keyring = {
  /** The key new secrets are sealed under. */
  readonly currentKeyId: string;
  /** Every key id this keyring can open, current first. */
  readonly keyIds: readonly string[];
  /** Encrypts `plaintext` under the current key, bound to `context` (e.g. the integration's id). */
  seal(plaintext: string, context: string): Promise<Sealed>;
  /** Decrypts an envelope sealed under any key of the ring for the same `context`. */
  open(envelope: string, context: string): Promise<string>;
};

export function createKeyring(current: Buffer, previous: readonly Buffer[] = []): Keyring {
  const keys = new Map<string, Uint8Array>();
  for (const key of [current, ...previous]) {
    if (key.length !== 32) throw new Error('integration keys must be 32 bytes');
    keys.set(keyIdOf(key), new Uint8Array(key));
  }
  const currentKeyId = keyIdOf(current);
  return {
    currentKeyId,
    keyIds: [...keys.keys()],
    async seal(plaintext, context) {
      const envelope = await new CompactEncrypt(new TextEncoder().encode(plaintext))
        .setProtectedHeader({ alg: ALG, enc: ENC, kid: currentKeyId, ctx: context })
        .encrypt(keys.get(currentKeyId)!);
      return { envelope, keyId: currentKeyId };
    },
    async open(envelope, context) {
      let header;
      try {
        header = decodeProtectedHeader(envelope);
      } catch {
        throw new SecretIntegrityError('not an envelope');
      }
      const kid = String(header.kid ?? '');
      const key = keys.get(kid);
      if (!key) throw new SecretKeyUnavailableError(kid);
      let result;
      try {
        result = await compactDecrypt(envelope, key, { keyManagementAlgorithms: [ALG], contentEncryptionAlgorithms: [ENC] });
      } catch {
        throw new SecretIntegrityError('authentication failed (tampered, or sealed under another key with the same id)');
      }
      // Checked after decryption: only then is the header known to be authentic.
      if (result.protectedHeader.ctx !== context) throw new SecretIntegrityError('sealed for another record');
      return new TextDecoder().decode(result.plaintext);
    },
  };
}

export const keyringFromConfig = (config: Pick<Config, 'INTEGRATIONS_KEY' | 'INTEGRATIONS_PREVIOUS_KEYS'>): Keyring =>
  createKeyring(config.INTEGRATIONS_KEY, config.INTEGRATIONS_PREVIOUS_KEYS);
