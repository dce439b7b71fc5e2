import type { EntityManager } from '@mikro-orm/postgresql';
import type { Role } from '../../contracts/permissions.ts';
import { MembershipSchema } from '../entities/index.ts';

export type TeamRole = { teamId: string; slug: string; name: string; role: Role };

export async function rolesOfUser(em: EntityManager, userId: string): Promise<TeamRole[]> {
  const rows = await em.find(MembershipSchema, { user: userId }, { populate: ['team'] });
  return rows.map((m) => {
    const team = m.team as unknown as { id: string; slug: string; name: string };
    return { teamId: team.id, slug: team.slug, name: team.name, role: m.role };
  });
}
