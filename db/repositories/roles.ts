import type { EntityManager } from '@mikro-orm/postgresql';
import { CustomRoleSchema, MembershipSchema } from '../entities/index.ts';
import type { CustomRole } from '../entities/custom-role.ts';

export type RoleView = { id: string; name: string; builtIn: boolean; description: string; permissions: string[]; approvalTargets: string[] | null };

export const toRoleView = (r: CustomRole): RoleView => ({
  id: r.id,
  name: r.name,
  builtIn: false,
  description: r.description,
  permissions: r.permissions,
  approvalTargets: r.approvalTargets ?? null,
});

export const listCustomRoles = (em: EntityManager): Promise<CustomRole[]> => em.find(CustomRoleSchema, {}, { orderBy: { name: 'asc' } });
export const findCustomRole = (em: EntityManager, id: string): Promise<CustomRole | null> => em.findOne(CustomRoleSchema, { id });

/** Users holding the role in some team: whose cached principals a change of the role makes stale. */
export async function holdersOf(em: EntityManager, roleId: string): Promise<string[]> {
  const rows = await em.execute<{ user_id: string }[]>('select distinct user_id from memberships where custom_role_id = ?', [roleId]);
  return rows.map((r) => r.user_id);
}

/** Sets (or clears, with null) the custom role of a membership; false when there is no such membership. */
export async function setMembershipCustomRole(em: EntityManager, teamId: string, userId: string, roleId: string | null): Promise<{ previous: string | null } | null> {
  const m = await em.findOne(MembershipSchema, { team: teamId, user: userId });
  if (!m) return null;
  const previous = (m.customRole as unknown as { id: string } | null)?.id ?? null;
  m.customRole = roleId ? em.getReference(CustomRoleSchema, roleId) : null;
  return { previous };
}
