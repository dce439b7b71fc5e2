import type { EntityManager } from '@mikro-orm/postgresql';
import type { Role } from '../../contracts/permissions.ts';
import { MembershipSchema, UserSchema } from '../entities/index.ts';

export type TeamRole = { teamId: string; slug: string; name: string; role: Role };

export async function rolesOfUser(em: EntityManager, userId: string): Promise<TeamRole[]> {
  const rows = await em.find(MembershipSchema, { user: userId }, { populate: ['team'] });
  return rows.map((m) => {
    const team = m.team as unknown as { id: string; slug: string; name: string };
    return { teamId: team.id, slug: team.slug, name: team.name, role: m.role };
  });
}

/**
 * A user's identity and roles as the platform checks them when it acts on their behalf (a schedule's
 * fire): null for a user who no longer exists or is disabled, who may no longer start anything.
 */
export async function actingUser(em: EntityManager, userId: string): Promise<{ id: string; email: string; name: string; isAdmin: boolean; teams: TeamRole[] } | null> {
  const user = await em.findOne(UserSchema, { id: userId });
  if (!user || user.disabled) return null;
  return { id: user.id, email: user.email, name: user.name, isAdmin: user.isAdmin, teams: await rolesOfUser(em, user.id) };
}

export type PrincipalRow = { id: string; email: string; name: string; isAdmin: boolean; disabled: boolean; sessionLive: boolean; teams: TeamRole[] };

/**
 * Who a token's user is, their roles, and whether the token's session still holds: one round trip and
 * no entity hydration, since this is read on every authenticated request that misses the cache.
 */
export async function principalRow(em: EntityManager, userId: string, family: string): Promise<PrincipalRow | null> {
  const rows = await em.execute<
    { id: string; email: string; name: string; is_admin: boolean; disabled: boolean; session_live: boolean; teams: TeamRole[] }[]
  >(
    `select u.id, u.email, u.name, u.is_admin, u.disabled,
            exists (select 1 from refresh_families f where f.id = ? and f.revoked_at is null) as session_live,
            coalesce((select json_agg(json_build_object('teamId', t.id, 'slug', t.slug, 'name', t.name, 'role', m.role) order by t.slug)
                        from memberships m join teams t on t.id = m.team_id where m.user_id = u.id), '[]'::json) as teams
       from users u where u.id = ?`,
    [family, userId],
  );
  const r = rows[0];
  return r ? { id: r.id, email: r.email, name: r.name, isAdmin: r.is_admin, disabled: r.disabled, sessionLive: r.session_live, teams: r.teams } : null;
}
