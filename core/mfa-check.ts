import type { EntityManager } from '@mikro-orm/postgresql';
import { lockMfa } from '../db/repositories/mfa.ts';
import { recordAudit } from '../db/repositories/audit.ts';
import { AuthenticationError } from './errors.ts';
import { matchRecoveryCode, MfaRequiredError, totpStep } from './mfa.ts';
import type { Keyring } from './secrets/keyring.ts';

export const mfaSecretContext = (userId: string) => `mfa-totp:${userId}`;

/**
 * The second factor of a sign-in whose password was right: nothing to do without an enrolled factor;
 * otherwise `code` must be a current TOTP code not used before, or an unused recovery code, which is
 * spent. Throws MfaRequiredError without a code, AuthenticationError for a wrong one (a failed guess).
 */
export async function checkSecondFactor(deps: { keyring: Keyring }, root: EntityManager, user: { id: string; email: string }, code: string | undefined, ip: string): Promise<void> {
  await root.fork().transactional((tx) => spendSecondFactor(deps, tx, user, code, ip));
}

/**
 * checkSecondFactor inside the caller's transaction `tx`: the code is spent only if that transaction
 * commits, so a sign-in refused after this check (its password changed meanwhile) leaves it unspent.
 */
export async function spendSecondFactor(deps: { keyring: Keyring }, tx: EntityManager, user: { id: string; email: string }, code: string | undefined, ip: string): Promise<void> {
  const mfa = await lockMfa(tx, user.id);
  if (!mfa?.enabledAt) return;
  if (!code) throw new MfaRequiredError();
  const secret = await deps.keyring.open(mfa.secret, mfaSecretContext(user.id));
  const step = await totpStep(secret, code.trim(), mfa.lastStep ?? null);
  if (step !== null) {
    mfa.lastStep = step;
    return;
  }
  const used = matchRecoveryCode(mfa.recoveryCodes, code);
  if (used < 0) throw new AuthenticationError('invalid second factor');
  mfa.recoveryCodes = mfa.recoveryCodes.map((c, i) => (i === used ? { ...c, usedAt: new Date().toISOString() } : c));
  recordAudit(tx, { actor: user, action: 'auth.recovery_code_used', resourceType: 'user', resourceId: user.id, ip, data: { left: mfa.recoveryCodes.filter((c) => !c.usedAt).length } });
}
