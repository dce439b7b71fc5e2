import type { EntityManager } from '@mikro-orm/postgresql';
import { ROLE_PERMISSIONS, type Permission, type Role } from '../../contracts/permissions.ts';

/**
 * A membership as access is checked: the built-in role, or the custom role replacing it in this team,
 * and what either grants. `approvalTargets` (custom roles only) limits the approvals granted to runs
 * with those targets; `requireMfa` is the team's policy (members without a second factor may not act).
 */
export type TeamRole = {
  teamId: string;
  slug: string;
  name: string;
  role: Role;
  customRole: { id: string; name: string } | null;
  permissions: Permission[];
  approvalTargets: string[] | null;
  requireMfa: boolean;
};

type MembershipJson = {
  teamId: string;
  slug: string;
  name: string;
  role: Role;
  requireMfa: boolean | null;
  customRole: { id: string; name: string; permissions: Permission[]; approvalTargets: string[] | null } | null;
};

/** The memberships of `user_id = ?` as JSON, one round trip with whatever query embeds it. */
const MEMBERSHIPS_JSON = `coalesce((select json_agg(json_build_object('teamId', t.id, 'slug', t.slug, 'name', t.name, 'role', m.role,
            'requireMfa', (t.settings->>'requireMfa')::boolean,
            'customRole', case when r.id is null then null else json_build_object('id', r.id, 'name', r.name, 'permissions', r.permissions, 'approvalTargets', r.approval_targets) end)
          order by t.slug)
     from memberships m join teams t on t.id = m.team_id left join custom_roles r on r.id = m.custom_role_id where m.user_id = u.id), '[]'::json)`;

function teamRole(m: MembershipJson): TeamRole {
  const custom = m.customRole;
  return {
    teamId: m.teamId,
    slug: m.slug,
    name: m.name,
    role: m.role,
    customRole: custom ? { id: custom.id, name: custom.name } : null,
    permissions: custom ? custom.permissions : [...ROLE_PERMISSIONS[m.role]],
    approvalTargets: custom?.approvalTargets ?? null,
    requireMfa: m.requireMfa === true,
  };
}

export async function rolesOfUser(em: EntityManager, userId: string): Promise<TeamRole[]> {
  const rows = await em.execute<{ teams: MembershipJson[] }[]>(`select ${MEMBERSHIPS_JSON} as teams from users u where u.id = ?`, [userId]);
  return (rows[0]?.teams ?? []).map(teamRole);
}

/**
 * A user's identity and roles as the platform checks them when it acts on their behalf (a schedule's
 * fire): null for a user who no longer exists or is disabled, who may no longer start anything.
 */
export async function actingUser(em: EntityManager, userId: string): Promise<{ id: string; email: string; name: string; isAdmin: boolean; mfaEnrolled: boolean; teams: TeamRole[] } | null> {
  const row = await userRow(em, userId);
  if (!row || row.disabled) return null;
  return { id: row.id, email: row.email, name: row.name, isAdmin: row.isAdmin, mfaEnrolled: row.mfaEnrolled, teams: row.teams };
}

type UserRow = { id: string; email: string; name: string; isAdmin: boolean; disabled: boolean; mfaEnrolled: boolean; teams: TeamRole[] };
type UserSql = { id: string; email: string; name: string; is_admin: boolean; disabled: boolean; mfa_enrolled: boolean; teams: MembershipJson[] };
const USER_COLUMNS = `u.id, u.email, u.name, u.is_admin, u.disabled,
            exists (select 1 from user_mfa x where x.user_id = u.id and x.enabled_at is not null) as mfa_enrolled,
            ${MEMBERSHIPS_JSON} as teams`;
const toUserRow = (r: UserSql): UserRow => ({ id: r.id, email: r.email, name: r.name, isAdmin: r.is_admin, disabled: r.disabled, mfaEnrolled: r.mfa_enrolled, teams: r.teams.map(teamRole) });

async function userRow(em: EntityManager, userId: string): Promise<UserRow | null> {
  const rows = await em.execute<UserSql[]>(`select ${USER_COLUMNS} from users u where u.id = ?`, [userId]);
  return rows[0] ? toUserRow(rows[0]) : null;
}

export type PrincipalRow = UserRow & { sessionLive: boolean };

/**
 * Who a token's user is, their roles, and whether the token's session still holds: one round trip and
 * no entity hydration, since this is read on every authenticated request that misses the cache.
 */
export async function principalRow(em: EntityManager, userId: string, family: string): Promise<PrincipalRow | null> {
  const rows = await em.execute<(UserSql & { session_live: boolean })[]>(
    `select ${USER_COLUMNS},
            exists (select 1 from refresh_families f where f.id = ? and f.revoked_at is null) as session_live
       from users u where u.id = ?`,
    [family, userId],
  );
  const r = rows[0];
  return r ? { ...toUserRow(r), sessionLive: r.session_live } : null;
}

export type ApiTokenRow = UserRow & { tokenId: string; teamId: string; teamSlug: string; teamName: string; scope: Permission[]; expiresAt: Date; revoked: boolean };

/** The API token with this hash, its creator and the creator's roles, in one round trip; null when unknown. */
export async function apiTokenRow(em: EntityManager, tokenHash: string): Promise<ApiTokenRow | null> {
  const rows = await em.execute<(UserSql & { token_id: string; team_id: string; team_slug: string; team_name: string; scope: Permission[]; expires_at: Date; revoked: boolean })[]>(
    `select ${USER_COLUMNS}, k.id as token_id, k.team_id, tt.slug as team_slug, tt.name as team_name, k.permissions as scope, k.expires_at, k.revoked_at is not null as revoked
       from api_tokens k join users u on u.id = k.user_id join teams tt on tt.id = k.team_id where k.token_hash = ?`,
    [tokenHash],
  );
  const r = rows[0];
  return r ? { ...toUserRow(r), tokenId: r.token_id, teamId: r.team_id, teamSlug: r.team_slug, teamName: r.team_name, scope: r.scope, expiresAt: new Date(r.expires_at), revoked: r.revoked } : null;
}
