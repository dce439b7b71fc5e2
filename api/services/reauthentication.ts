import type { EntityManager } from '@mikro-orm/postgresql';
import { NotAllowedError } from '../../core/errors.ts';
import { verifyPassword } from '../../core/passwords.ts';
import { sessionSignIn } from '../../db/repositories/refresh-tokens.ts';
import { findLoginSecret, normalizeEmail } from '../../db/repositories/users.ts';
import type { LoginThrottle } from '../middleware/rate-limit.ts';

/** How recent a sign-in through an identity provider must be to stand in for the password. */
export const RECENT_PROVIDER_SIGN_IN_MS = 10 * 60_000;

type Caller = { principal: { id: string; email: string; family: string }; ip: string };

/**
 * Proof, beyond the access token, that the person at the keyboard owns the account: asked before a
 * change to the second factor, so a stolen access token alone can neither enrol an attacker's
 * authenticator (locking the owner out of their next sign-in) nor remove the owner's.
 *
 * The current password proves it, and a wrong one is a failed login guess (same budgets). A session
 * signed in through an identity provider, whose user may have no password here, proves it by a sign-in
 * there within the last ten minutes instead.
 */
export async function proveItIsYou(em: EntityManager, throttle: LoginThrottle, caller: Caller, currentPassword: string | undefined): Promise<void> {
  const { principal, ip } = caller;
  const account = normalizeEmail(principal.email);
  // Before either proof: a locked account (too many wrong passwords or codes) gets no more guesses here.
  await throttle.check(ip, account);
  if (currentPassword === undefined) {
    const session = await sessionSignIn(em, principal.family);
    if (session?.viaProvider && Date.now() - session.signedInAt.getTime() <= RECENT_PROVIDER_SIGN_IN_MS) return;
    if (session?.viaProvider) {
      throw new NotAllowedError('sign in again through your identity provider (or give your OpsSight password) and retry within ten minutes', [{ field: 'currentPassword', message: 'required: the sign-in is older than ten minutes' }]);
    }
    // 403, not 400: the body is well formed (the password is optional for provider sessions); what is missing is the proof.
    throw new NotAllowedError('give your current password to change the second factor', [{ field: 'currentPassword', message: 'required' }]);
  }
  const secret = await findLoginSecret(em, principal.email);
  if (!secret || secret.id !== principal.id || !(await verifyPassword(secret.passwordHash, currentPassword))) {
    await throttle.failed(account);
    throw new NotAllowedError('the current password is wrong', [{ field: 'currentPassword', message: 'does not match' }]);
  }
}
