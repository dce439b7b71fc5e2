import { roleAllows, type Permission } from '../contracts/permissions.ts';
import type { TeamRole } from '../db/repositories/access.ts';
import { NotAllowedError, NotFoundError } from './errors.ts';

/** The authenticated caller, with the role they hold in each team. */
export type Principal = { id: string; email: string; name: string; isAdmin: boolean; teams: TeamRole[] };

export function can(principal: Principal, teamId: string, permission: Permission): boolean {
  if (principal.isAdmin) return true;
  const membership = principal.teams.find((t) => t.teamId === teamId);
  return membership !== undefined && roleAllows(membership.role, permission);
}

/**
 * A resource of a team the caller cannot see does not exist for them (404, never 403, so ids of other
 * teams' resources leak nothing); a visible one without the permission is 403.
 */
export function assertCan(principal: Principal, teamId: string, permission: Permission, what = 'run'): void {
  if (!can(principal, teamId, 'runs:read')) throw new NotFoundError(`${what} not found`);
  if (!can(principal, teamId, permission)) throw new NotAllowedError(`missing permission ${permission}`);
}

/** Team ids the caller may see runs of; undefined means all (platform admin). */
export function visibleTeamIds(principal: Principal): string[] | undefined {
  if (principal.isAdmin) return undefined;
  return principal.teams.filter((t) => roleAllows(t.role, 'runs:read')).map((t) => t.teamId);
}
