import { z } from 'zod';

/**
 * Shapes of SSH key material shared by the integration types. These check the form only; core/
 * parses the key itself (decrypting it with the passphrase) and the host keys' blobs, since that
 * needs a key parser this pure module must not import.
 */

const PRIVATE_KEY = /^-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----\n[\s\S]+\n-----END [A-Z0-9 ]*PRIVATE KEY-----$/;

/** A pasted private key: CRLF from some editors becomes LF, and OpenSSH wants the final newline. */
export const privateKeySchema = z
  .string()
  .max(16 * 1024)
  .transform((k) => k.replace(/\r\n?/g, '\n').trim())
  .pipe(z.string().regex(PRIVATE_KEY, 'must be a private key in OpenSSH or PEM format (-----BEGIN … PRIVATE KEY-----)'))
  .transform((k) => `${k}\n`)
  .meta({ description: 'the private key file as ssh-keygen writes it', writeOnly: true });

/** An empty passphrase from a form means "none". */
export const passphraseSchema = z
  .string()
  .max(1024)
  .optional()
  .transform((p) => (p === '' ? undefined : p))
  .meta({ description: 'only when the private key is encrypted', writeOnly: true });

export const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;
export const KEY_TYPES = ['ssh-ed25519', 'ssh-rsa', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521'] as const;
/** `[host-patterns] key-type base64 [comment]`: a known_hosts line, or a bare public key. */
export const KNOWN_HOSTS_LINE = new RegExp(`^(?:(\\S+)\\s+)?(${KEY_TYPES.join('|')})\\s+([A-Za-z0-9+/]+={0,3})(?:\\s+.*)?$`);

export const hostKeyPinSchema = z
  .string()
  .trim()
  .refine((s) => FINGERPRINT.test(s) || KNOWN_HOSTS_LINE.test(s), 'must be a known_hosts line ("host ssh-ed25519 AAAA…") or a SHA256:… fingerprint');

export const hostKeysSchema = z
  .array(hostKeyPinSchema)
  .max(100)
  .describe('pinned host keys, one per line: known_hosts lines (ssh-keyscan output) or SHA256:… fingerprints');
