import type { IntegrationIssue } from '../../contracts/integrations/index.ts';
import { inspectPrivateKey, isKeyProblem, parseHostKeyPin } from './ssh-keys.ts';

/** What the API may show about stored secrets, derived once when they are written. */
export type SecretMetadata = { fingerprint: string | null; publicKey: string | null };

/**
 * Checks key material the schemas can only check by shape, for any type that follows the field
 * conventions: `secrets.privateKey` (+ `secrets.passphrase`) is parsed and decrypted, each of
 * `settings.hostKeys` must hold a key that parses. Returns the problems by field, and the key's
 * fingerprint and public key.
 */
export function checkKeyMaterial(settings: Record<string, unknown>, secrets: Record<string, unknown>): { issues: IntegrationIssue[]; metadata: SecretMetadata } {
  const issues: IntegrationIssue[] = [];
  const metadata: SecretMetadata = { fingerprint: null, publicKey: null };
  if (typeof secrets.privateKey === 'string') {
    const key = inspectPrivateKey(secrets.privateKey, typeof secrets.passphrase === 'string' ? secrets.passphrase : undefined);
    if (isKeyProblem(key)) issues.push({ path: ['secrets', key.field], message: key.message });
    else Object.assign(metadata, { fingerprint: key.fingerprint, publicKey: key.publicKey });
  }
  if (Array.isArray(settings.hostKeys)) {
    settings.hostKeys.forEach((pin, i) => {
      const parsed = parseHostKeyPin(String(pin));
      if (typeof parsed === 'string') issues.push({ path: ['settings', 'hostKeys', String(i)], message: parsed });
    });
  }
  return { issues, metadata };
}
