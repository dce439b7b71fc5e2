import type { EntityManager } from '@mikro-orm/postgresql';
import type { Principal } from '../../core/access.ts';
import { AuthenticationError, ConflictError, InputError, NotFoundError } from '../../core/errors.ts';
import { hashPassword, verifyPassword } from '../../core/passwords.ts';
import type { SessionService } from '../../core/refresh-tokens.ts';
import { recordAudit } from '../../db/repositories/audit.ts';
import { revokeUserRefreshFamilies } from '../../db/repositories/refresh-tokens.ts';
import { lockUser, lockUserWithPassword, toUserView, type UserView } from '../../db/repositories/users.ts';

type Caller = { principal: Principal; ip: string };
type UserChange = { name?: string | undefined; disabled?: boolean | undefined; isAdmin?: boolean | undefined };

const actor = (c: Caller) => ({ id: c.principal.id, email: c.principal.email });

/**
 * A platform admin edits a user. Disabling ends every session of theirs: refresh families revoked
 * (no refresh, no new access token) and their live access tokens revoked; authentication already
 * refuses disabled users. The change and its audit row commit together.
 */
export async function updateUser(em: EntityManager, sessions: SessionService, caller: Caller, id: string, change: UserChange): Promise<UserView> {
  // An admin cannot lock themselves out, which also keeps at least one platform admin able to sign in.
  if (id === caller.principal.id && (change.disabled === true || change.isAdmin === false)) {
    throw new ConflictError('you cannot disable yourself or drop your own platform admin role; ask another platform admin', {
      errors: [{ field: change.disabled === true ? 'disabled' : 'isAdmin', message: 'not on your own account' }],
    });
  }
  const { view, families } = await em.transactional(
    async (tx) => {
      const user = await lockUser(tx, id);
      if (!user) throw new NotFoundError('user not found');
      const changes: Record<string, { from: unknown; to: unknown }> = {};
      for (const key of ['name', 'disabled', 'isAdmin'] as const) {
        const to = change[key];
        if (to === undefined || to === user[key]) continue;
        changes[key] = { from: user[key], to };
        Object.assign(user, { [key]: to });
      }
      // Revoked even when already disabled: a session could have been issued by a refresh racing the first disable.
      const families = change.disabled === true ? await revokeUserRefreshFamilies(tx, user.id, 'user-disabled') : [];
      recordAudit(tx, {
        actor: actor(caller),
        action: 'user.update',
        resourceType: 'user',
        resourceId: user.id,
        ip: caller.ip,
        data: { changes, ...(change.disabled === true ? { revokedSessions: families.length } : {}) },
      });
      return { view: toUserView(user), families };
    },
    { clear: true },
  );
  // After the commit: open sockets of those sessions close now, in every API process.
  await sessions.announce(families);
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
      user.passwordHash = newHash;
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
