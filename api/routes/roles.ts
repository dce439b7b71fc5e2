import Router from '@koa/router';
import { UniqueConstraintViolationException } from '@mikro-orm/postgresql';
import {
  assignRoleRequestSchema,
  createRoleRequestSchema,
  idPathSchema,
  membershipRolePathSchema,
  permissionCatalogue,
  roleListSchema,
  updateRoleRequestSchema,
  userSessionsPathSchema,
} from '../../contracts/identity.ts';
import { ROLES, ROLE_PERMISSIONS } from '../../contracts/permissions.ts';
import type { Principal } from '../../core/access.ts';
import { ConflictError, NotAllowedError, NotFoundError } from '../../core/errors.ts';
import { CustomRoleSchema } from '../../db/entities/index.ts';
import { actingUser } from '../../db/repositories/access.ts';
import { recordAudit } from '../../db/repositories/audit.ts';
import { findCustomRole, holdersOf, listCustomRoles, setMembershipCustomRole, toRoleView } from '../../db/repositories/roles.ts';
import type { AppContext, AppDeps, AppRouter, AppState } from '../context.ts';
import { authenticate } from '../middleware/auth.ts';
import { rateLimitPerUser } from '../middleware/rate-limit.ts';
import { teamFor } from '../services/teams.ts';

const BUILT_IN_DESCRIPTIONS: Record<string, string> = {
  viewer: 'sees the team’s runs',
  operator: 'starts and cancels runs, acknowledges alerts',
  approver: 'an operator who also approves runs',
  admin: 'everything in the team, members and integrations included',
};

function requirePlatformAdmin(principal: Principal): void {
  if (!principal.isAdmin) throw new NotAllowedError('platform admin only');
}

/** The permission catalogue, built-in and custom roles, their assignment per membership, and a user's effective permissions. */
export function roleRoutes(deps: AppDeps): AppRouter {
  const router = new Router<AppState>({ prefix: '/api/v1' });
  const signedIn = [authenticate(deps), rateLimitPerUser(deps)];

  /** Flushes the change and its audit row, then drops the cached principals of everyone it concerns. */
  async function commit(ctx: AppContext, users: string[], field = 'name'): Promise<void> {
    try {
      await ctx.state.em.flush();
    } catch (err) {
      if (err instanceof UniqueConstraintViolationException) throw new ConflictError('a role with this name already exists', { errors: [{ field, message: 'already taken' }] });
      throw err;
    }
    await deps.sessions.accessChanged(users);
  }

  router.get('/permissions', ...signedIn, (ctx) => {
    ctx.body = { items: permissionCatalogue() };
  });

  router.get('/roles', ...signedIn, async (ctx) => {
    const builtIn = ROLES.map((r) => ({ id: r, name: r, builtIn: true, description: BUILT_IN_DESCRIPTIONS[r]!, permissions: [...ROLE_PERMISSIONS[r]], approvalTargets: null }));
    ctx.body = roleListSchema.parse({ items: [...builtIn, ...(await listCustomRoles(ctx.state.em)).map(toRoleView)] });
  });

  router.post('/roles', ...signedIn, async (ctx) => {
    const { principal, em } = ctx.state;
    requirePlatformAdmin(principal);
    const body = createRoleRequestSchema.parse(ctx.request.body ?? {});
    if ((ROLES as readonly string[]).includes(body.name.toLowerCase())) throw new ConflictError('that is the name of a built-in role', { errors: [{ field: 'name', message: 'built-in' }] });
    const role = em.create(CustomRoleSchema, { name: body.name, description: body.description, permissions: [...new Set(body.permissions)].sort(), approvalTargets: body.approvalTargets });
    recordAudit(em, { actor: principal, action: 'role.create', resourceType: 'role', resourceId: role.id, ip: ctx.ip, data: { ...body } });
    await commit(ctx, []);
    ctx.status = 201;
    ctx.body = toRoleView(role);
  });

  router.patch('/roles/:id', ...signedIn, async (ctx) => {
    const { principal, em } = ctx.state;
    requirePlatformAdmin(principal);
    const { id } = idPathSchema.parse(ctx.params);
    const body = updateRoleRequestSchema.parse(ctx.request.body ?? {});
    const role = await findCustomRole(em, id);
    if (!role) throw new NotFoundError('role not found');
    const before = toRoleView(role);
    if (body.description !== undefined) role.description = body.description;
    if (body.permissions !== undefined) role.permissions = [...new Set(body.permissions)].sort();
    if (body.approvalTargets !== undefined) role.approvalTargets = body.approvalTargets;
    recordAudit(em, { actor: principal, action: 'role.update', resourceType: 'role', resourceId: id, ip: ctx.ip, data: { before, after: toRoleView(role) } });
    await commit(ctx, await holdersOf(em, id));
    ctx.body = toRoleView(role);
  });

  // Members holding it go back to their built-in role (the foreign key sets it null).
  router.delete('/roles/:id', ...signedIn, async (ctx) => {
    const { principal, em } = ctx.state;
    requirePlatformAdmin(principal);
    const { id } = idPathSchema.parse(ctx.params);
    const role = await findCustomRole(em, id);
    if (!role) throw new NotFoundError('role not found');
    const holders = await holdersOf(em, id);
    recordAudit(em, { actor: principal, action: 'role.delete', resourceType: 'role', resourceId: id, ip: ctx.ip, data: { role: toRoleView(role), holders: holders.length } });
    em.remove(role);
    await commit(ctx, holders);
    ctx.status = 204;
  });

  // A custom role replaces the member's built-in role in this team; null goes back to it.
  router.put('/teams/:slug/members/:userId/role', ...signedIn, async (ctx) => {
    const { principal, em } = ctx.state;
    const { slug, userId } = membershipRolePathSchema.parse(ctx.params);
    const team = await teamFor(em, principal, slug, 'team:manage');
    const { roleId } = assignRoleRequestSchema.parse(ctx.request.body ?? {});
    const role = roleId ? await findCustomRole(em, roleId) : null;
    if (roleId && !role) throw new NotFoundError('role not found');
    // A team admin holds every team permission already; giving their own seat a narrower role is allowed,
    // taking the last admin seat out of `team:manage` is what the built-in role rules keep for them.
    const changed = await setMembershipCustomRole(em, team.id, userId, roleId);
    if (!changed) throw new NotFoundError('member not found');
    recordAudit(em, { actor: principal, action: 'member.role.assign', resourceType: 'membership', resourceId: `${team.id}:${userId}`, teamId: team.id, ip: ctx.ip, data: { userId, previous: changed.previous, roleId, roleName: role?.name ?? null } });
    await commit(ctx, [userId], 'roleId');
    ctx.body = { userId, team: team.slug, customRole: role ? { id: role.id, name: role.name } : null };
  });

  router.get('/users/:id/permissions', ...signedIn, async (ctx) => {
    const { principal, em } = ctx.state;
    const { id } = userSessionsPathSchema.parse(ctx.params);
    if (!principal.isAdmin && principal.id !== id) throw new NotAllowedError('platform admins see anyone’s permissions, others their own');
    const user = await actingUser(em, id);
    if (!user) throw new NotFoundError('user not found or disabled');
    // Through an API token: what the token may do, in its own team, and nothing of the creator's other teams.
    const scoped = principal.apiTokenId ? new Map(principal.teams.map((t) => [t.teamId, t.permissions])) : null;
    const teams = scoped ? user.teams.filter((t) => scoped.has(t.teamId)).map((t) => ({ ...t, permissions: scoped.get(t.teamId)! })) : user.teams;
    ctx.body = {
      user: { id: user.id, email: user.email, isAdmin: scoped ? false : user.isAdmin, mfaEnrolled: user.mfaEnrolled },
      teams: teams.map((t) => ({
        id: t.teamId,
        slug: t.slug,
        role: t.role,
        customRole: t.customRole,
        permissions: t.permissions,
        approvalTargets: t.approvalTargets,
        blockedByMfa: t.requireMfa && !user.mfaEnrolled && !user.isAdmin,
      })),
    };
  });

  return router;
}
