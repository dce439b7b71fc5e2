import type { EntityManager } from '@mikro-orm/postgresql';
import type { Principal } from '../../core/access.ts';
import { AuthenticationError, ConflictError, InputError, NotFoundError } from '../../core/errors.ts';
import { assertAcceptablePassword } from '../../core/password-policy.ts';
import { hashPassword, verifyPassword } from '../../core/passwords.ts';
import type { SessionService } from '../../core/refresh-tokens.ts';
import { recordAudit } from '../../db/repositories/audit.ts';
import { revokeUserApiTokens } from '../../db/repositories/api-tokens.ts';
import { deleteMfa } from '../../db/repositories/mfa.ts';
import { revokeUserRefreshFamilies } from '../../db/repositories/refresh-tokens.ts';
import { lockUser, lockUserWithPassword, toUserView, type UserView } from '../../db/repositories/users.ts';

type Caller = { principal: Principal; ip: string };
type UserChange = { name?: string | undefined; disabled?: boolean | undefined; isAdmin?: boolean | undefined; password?: string | undefined; removeMfa?: true | undefined };

const actor = (c: Caller) => ({ id: c.principal.id, email: c.principal.email });

/**
 * A platform admin edits a user. Disabling ends every session of theirs: refresh families revoked
 * (no refresh, no new access token) and their live access tokens revoked; authentication already
 * refuses disabled users. A password reset sets a one-time password (the user must replace it at
 * their next sign-in) and ends their sessions too. Either revokes the user's API tokens. `removeMfa`
 * deletes the second factor: the way back for a user who lost it, or whose account got someone else's. The change and its audit row commit together.
 */
export async function updateUser(em: EntityManager, sessions: SessionService, caller: Caller, id: string, change: UserChange): Promise<UserView> {
  // An admin cannot lock themselves out, which also keeps at least one platform admin able to sign in.
  if (id === caller.principal.id && (change.disabled === true || change.isAdmin === false)) {
    throw new ConflictError('you cannot disable yourself or drop your own platform admin role; ask another platform admin', {
      errors: [{ field: change.disabled === true ? 'disabled' : 'isAdmin', message: 'not on your own account' }],
    });
  }
  const newHash = change.password === undefined ? undefined : await hashPassword(change.password);
  const { view, ended } = await em.transactional(
    async (tx) => {
      const user = await lockUser(tx, id);
      if (!user) throw new NotFoundError('user not found');
      if (change.password !== undefined) assertAcceptablePassword(change.password, user.email, 'password');
      const changes: Record<string, { from: unknown; to: unknown }> = {};
      for (const key of ['name', 'disabled', 'isAdmin'] as const) {
        const to = change[key];
        if (to === undefined || to === user[key]) continue;
        changes[key] = { from: user[key], to };
        Object.assign(user, { [key]: to });
      }
      if (newHash) {
        Object.assign(user, { passwordHash: newHash, passwordChangeRequired: true });
        changes.password = { from: 'hidden', to: 'reset' };
      }
      if (change.removeMfa && (await deleteMfa(tx, user.id)) > 0) changes.mfa = { from: 'enrolled', to: 'removed' };
      // Revoked even when already disabled: a session could have been issued by a refresh racing the first disable.
      const endSessions = change.disabled === true || newHash !== undefined;
      const families = endSessions ? await revokeUserRefreshFamilies(tx, user.id, change.disabled === true ? 'user-disabled' : 'password-reset') : [];
      // An admin resets a password when the account may be in someone else's hands: tokens minted
      // meanwhile go too. (A user's own change keeps them: automation should not break on a rotation.)
      const tokens = endSessions ? await revokeUserApiTokens(tx, user.id) : [];
      recordAudit(tx, {
        actor: actor(caller),
        action: 'user.update',
        resourceType: 'user',
        resourceId: user.id,
        ip: caller.ip,
        data: { changes, ...(endSessions ? { revokedSessions: families.length, revokedApiTokens: tokens.length } : {}) },
      });
      return { view: toUserView(user), ended: [...families, ...tokens] };
    },
    { clear: true },
  );
  // After the commit: open sockets of those sessions and tokens close now, in every API process.
  await sessions.announce(ended);
  // A team requiring MFA holds the user back again from their next request on.
  if (change.removeMfa) await sessions.accessChanged([id]);
  return view;
}

/**
 * The caller changes their own password after proving the current one. Every other session ends;
 * the one making the request (`keepFamily`, from its access token) stays signed in. False, changing
 * nothing, when the current password is wrong (the caller counts that as a failed guess).
 */
export async function changePassword(
  em: EntityManager,
  sessions: SessionService,
  caller: Caller,
  keepFamily: string,
  body: { currentPassword: string; newPassword: string },
): Promise<boolean> {
  assertAcceptablePassword(body.newPassword, caller.principal.email, 'newPassword');
  const newHash = await hashPassword(body.newPassword);
  const families = await em.transactional(
    async (tx) => {
      // Locked, so two concurrent changes cannot both prove the same old password.
      const user = await lockUserWithPassword(tx, caller.principal.id);
      if (!user || user.disabled) throw new AuthenticationError('account not active');
      if (!(await verifyPassword(user.passwordHash, body.currentPassword))) return null;
      if (body.newPassword === body.currentPassword) {
        throw new InputError('the new password is the current one', [{ field: 'newPassword', message: 'must differ from the current password' }]);
      }
      Object.assign(user, { passwordHash: newHash, passwordChangeRequired: false });
      const revoked = await revokeUserRefreshFamilies(tx, user.id, 'password-change', keepFamily);
      recordAudit(tx, {
        actor: actor(caller),
        action: 'auth.password_change',
        resourceType: 'user',
        resourceId: user.id,
        ip: caller.ip,
        data: { revokedSessions: revoked.length },
      });
      return revoked;
    },
    { clear: true },
  );
  if (!families) return false;
  await sessions.announce(families);
  return true;
}

/**
 * What the user chose to replace an admin's one-time password with: acceptable, and their own. The
 * one-time password is already proven, so comparing the strings is enough.
 */
export function assertNewPassword(email: string, body: { currentPassword: string; newPassword: string }): void {
  assertAcceptablePassword(body.newPassword, email, 'newPassword');
  if (body.newPassword === body.currentPassword) {
    throw new InputError('choose a password of your own', [{ field: 'newPassword', message: 'must differ from the one-time password' }]);
  }
}

/**
 * First sign-in with a password an admin set, once the caller has proven it: checks the second factor
 * (`secondFactor`, in the same transaction) and replaces the password with the user's own. Refused (401, as a failed login) when the account changed since
 * the proof: another reset, a disable, or a concurrent first sign-in that already set one.
 */
export async function setInitialPassword(
  em: EntityManager,
  ip: string,
  change: { userId: string; provenHash: string; newPassword: string; secondFactor: (tx: EntityManager) => Promise<void> },
): Promise<UserView> {
  const newHash = await hashPassword(change.newPassword);
  return em.transactional(
    async (tx) => {
      const user = await lockUserWithPassword(tx, change.userId);
      if (!user || user.disabled || !user.passwordChangeRequired || user.passwordHash !== change.provenHash) throw new AuthenticationError('invalid email or password');
      // In this transaction, after the password held: a code is spent only by a change that commits.
      await change.secondFactor(tx);
      Object.assign(user, { passwordHash: newHash, passwordChangeRequired: false });
      recordAudit(tx, { actor: { id: user.id, email: user.email }, action: 'auth.password_initial', resourceType: 'user', resourceId: user.id, ip });
      return toUserView(user);
    },
    { clear: true },
  );
}
