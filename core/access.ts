import { permissionsAllow, type Permission } from '../contracts/permissions.ts';
import type { TeamRole } from '../db/repositories/access.ts';
import { NotAllowedError, NotFoundError } from './errors.ts';

/**
 * The authenticated caller, with what they may do in each team. `apiTokenId` is set when the caller is
 * an API token: its teams are then the token's one team, and its permissions there the token's scope
 * within what its creator holds (core/api-tokens.ts); it is never a platform admin.
 */
export type Principal = { id: string; email: string; name: string; isAdmin: boolean; mfaEnrolled?: boolean; apiTokenId?: string; teams: TeamRole[] };

/** A team requiring MFA lets a member without it read, nothing more, until they enrol. */
const blockedByMfa = (principal: Principal, membership: TeamRole, permission: Permission) =>
  membership.requireMfa && principal.mfaEnrolled === false && principal.apiTokenId === undefined && permission !== 'runs:read';

export function can(principal: Principal, teamId: string, permission: Permission): boolean {
  if (principal.isAdmin) return true;
  const membership = principal.teams.find((t) => t.teamId === teamId);
  if (!membership || blockedByMfa(principal, membership, permission)) return false;
  return permissionsAllow(membership.permissions, permission);
}

/**
 * A resource of a team the caller cannot see does not exist for them (404, never 403, so ids of other
 * teams' resources leak nothing); a visible one without the permission is 403.
 */
export function assertCan(principal: Principal, teamId: string, permission: Permission, what = 'run'): void {
  if (!can(principal, teamId, 'runs:read')) throw new NotFoundError(`${what} not found`);
  const membership = principal.isAdmin ? undefined : principal.teams.find((t) => t.teamId === teamId);
  if (membership && blockedByMfa(principal, membership, permission)) {
    throw new NotAllowedError(`team ${membership.slug} requires multi-factor authentication: enrol a second factor (POST /api/v1/me/mfa/totp) before acting in it`, [
      { field: 'mfa', message: 'not enrolled' },
    ]);
  }
  if (!can(principal, teamId, permission)) throw new NotAllowedError(`missing permission ${permission}`);
}

/**
 * Whether the caller's approval in this team reaches a run with these targets: a custom role may limit
 * the approvals it grants to some workspaces or deployments (no targets listed: every run).
 */
export function approvalReaches(principal: Principal, teamId: string, targets: string[]): boolean {
  if (principal.isAdmin) return true;
  const limit = principal.teams.find((t) => t.teamId === teamId)?.approvalTargets;
  return !limit || targets.some((t) => limit.includes(t));
}

/** Team ids the caller may see runs of; undefined means all (platform admin). */
export function visibleTeamIds(principal: Principal): string[] | undefined {
  if (principal.isAdmin) return undefined;
  return principal.teams.filter((t) => permissionsAllow(t.permissions, 'runs:read')).map((t) => t.teamId);
}
