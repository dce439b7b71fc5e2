import { UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/postgresql';
import type { Role } from '../../contracts/permissions.ts';
import type { Principal } from '../../core/access.ts';
import { ConflictError, NotFoundError } from '../../core/errors.ts';
import type { Team, User } from '../../db/entities/index.ts';
import { recordAudit } from '../../db/repositories/audit.ts';
import { lockMemberships, putMembership, removeMembership, type MemberView } from '../../db/repositories/teams.ts';
import { findUser } from '../../db/repositories/users.ts';
import type { MissBudget } from '../middleware/rate-limit.ts';

type Caller = { principal: Principal; ip: string };

const actor = (c: Caller) => ({ id: c.principal.id, email: c.principal.email });

/**
 * A team never loses its last admin: refuses when `userId` is the only member holding `admin` and
 * would stop holding it (`role` null = removal). Platform admins are not members, so they never count.
 */
function assertKeepsAnAdmin(team: Team, members: { userId: string; role: Role }[], userId: string, role: Role | null, field: string): void {
  const current = members.find((m) => m.userId === userId);
  if (current?.role !== 'admin' || role === 'admin') return;
  if (members.some((m) => m.role === 'admin' && m.userId !== userId)) return;
  const what = role === null ? 'removed' : `demoted to ${role}`;
  throw new ConflictError(`the last admin of team ${team.slug} cannot be ${what}; make another member admin first`, {
    errors: [{ field, message: 'the team’s last admin' }],
  });
}

/**
 * The user a team admin may add: an active account that is not a platform admin (who sees every team
 * anyway). Anything else, including no account at all, is the same 404, and each such miss spends the
 * caller's lookup budget, so a team admin cannot map which emails have accounts. Platform admins, who
 * list users anyway, may add anyone who exists.
 */
export async function addableUser(em: EntityManager, misses: MissBudget, principal: Principal, by: { id: string } | { email: string }): Promise<User> {
  if (principal.isAdmin) {
    const user = await findUser(em, by);
    if (!user) throw new NotFoundError('user not found');
    return user;
  }
  await misses.check(principal.id);
  const user = await findUser(em, by);
  if (user && !user.disabled && !user.isAdmin) return user;
  await misses.miss(principal.id);
  throw new NotFoundError('no user with this email or id can be added');
}

/** Adds `user` to the team or changes their role, audited in the same transaction. */
export async function setMemberRole(em: EntityManager, caller: Caller, team: Team, user: User, role: Role): Promise<{ member: MemberView; previousRole: Role | null }> {
  try {
    // clear: the request's identity map may hold the caller's membership as loaded at authentication.
    return await em.transactional(
      async (tx) => {
        assertKeepsAnAdmin(team, await lockMemberships(tx, team.id), user.id, role, 'role');
        const result = await putMembership(tx, team.id, user.id, role);
        recordAudit(tx, {
          actor: actor(caller),
          action: result.previousRole ? 'team.member.update' : 'team.member.add',
          resourceType: 'membership',
          resourceId: `${team.id}:${user.id}`,
          teamId: team.id,
          ip: caller.ip,
          data: { userId: user.id, role, previousRole: result.previousRole },
        });
        return result;
      },
      { clear: true },
    );
  } catch (err) {
    // Concurrent adds of the same member meet the (user, team) unique key; the lock covers only existing rows.
    if (err instanceof UniqueConstraintViolationException) {
      throw new ConflictError('the user was added to the team concurrently; retry', { errors: [{ field: 'userId', message: 'already taken' }] });
    }
    throw err;
  }
}

/** Removes the member, audited in the same transaction; a missing membership is a 404. */
export async function removeMember(em: EntityManager, caller: Caller, team: Team, userId: string): Promise<void> {
  await em.transactional(
    async (tx) => {
      assertKeepsAnAdmin(team, await lockMemberships(tx, team.id), userId, null, 'userId');
      const removedRole = await removeMembership(tx, team.id, userId);
      if (!removedRole) throw new NotFoundError('membership not found');
      recordAudit(tx, {
        actor: actor(caller),
        action: 'team.member.remove',
        resourceType: 'membership',
        resourceId: `${team.id}:${userId}`,
        teamId: team.id,
        ip: caller.ip,
        data: { userId, previousRole: removedRole },
      });
    },
    { clear: true },
  );
}
