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
