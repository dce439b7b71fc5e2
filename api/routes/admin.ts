import Router from '@koa/router';
import { UniqueConstraintViolationException } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { ROLES } from '../../contracts/permissions.ts';
import { teamPathSchema, teamSlugSchema } from '../../contracts/teams.ts';
import type { Principal } from '../../core/access.ts';
import { ConflictError, NotAllowedError } from '../../core/errors.ts';
import { assertAcceptablePassword } from '../../core/password-policy.ts';
import { hashPassword } from '../../core/passwords.ts';
import { cacheTags } from '../../core/cache/tags.ts';
import { recordAudit } from '../../db/repositories/audit.ts';
import { createTeamRow, listMembers, toTeamView } from '../../db/repositories/teams.ts';
import { createUserRow, listUsers, toUserView } from '../../db/repositories/users.ts';
import type { AppContext, AppDeps, AppRouter, AppState } from '../context.ts';
import { authenticate } from '../middleware/auth.ts';
import { missBudget, rateLimitPerUser } from '../middleware/rate-limit.ts';
import { addableUser, removeMember, setMemberRole } from '../services/memberships.ts';
import { allTeams } from '../services/team-list.ts';
import { teamFor } from '../services/teams.ts';
import { updateUser } from '../services/users.ts';

export const createTeamRequestSchema = z.object({
  slug: teamSlugSchema,
  name: z.string().trim().min(1).max(200),
});

export const createUserRequestSchema = z.object({
  // users.email is varchar(255)
  email: z.email().max(255),
  name: z.string().trim().min(1).max(200),
  password: z.string().min(12, 'at least 12 characters').max(1024),
  isAdmin: z.boolean().default(false).describe('platform administrator'),
});

export const putMemberRequestSchema = z
  .object({
    email: z.email().optional(),
    userId: z.uuid().optional(),
    role: z.enum(ROLES),
  })
  .refine((b) => (b.email === undefined) !== (b.userId === undefined), { message: 'give exactly one of email or userId', path: ['email'] });

export const listUsersQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().optional().describe('nextCursor of the previous page'),
});

export const teamSchema = z.object({ id: z.uuid(), slug: z.string(), name: z.string(), createdAt: z.string() });
export const teamListSchema = z.object({ items: z.array(teamSchema.extend({ role: z.enum(ROLES).nullable().describe('the caller’s role; null for platform admins who are not members') })) });
export const userSchema = z.object({
  id: z.uuid(),
  email: z.string(),
  name: z.string(),
  isAdmin: z.boolean(),
  disabled: z.boolean(),
  passwordChangeRequired: z.boolean().describe('the password was set by an admin; the next sign-in must replace it'),
  createdAt: z.string(),
});
export const userListSchema = z.object({ items: z.array(userSchema), nextCursor: z.string().nullable() });
export const memberSchema = z.object({
  userId: z.uuid(),
  email: z.string(),
  name: z.string(),
  role: z.enum(ROLES),
  customRole: z.object({ id: z.uuid(), name: z.string() }).nullable().describe('when set, what the member may do in the team comes from it, not from `role`'),
  since: z.string(),
});
export const memberListSchema = z.object({ items: z.array(memberSchema) });

export const updateUserRequestSchema = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    disabled: z.boolean().optional().describe('true ends every session of the user, revokes their API tokens for good and refuses their sign-in'),
    isAdmin: z.boolean().optional().describe('platform administrator'),
    password: z.string().max(1024).optional().describe('reset: a new one-time password the user must replace at their next sign-in; ends their sessions and revokes their API tokens; the second factor stays'),
    removeMfa: z.literal(true).optional().describe('removes the user’s second factor (TOTP and recovery codes): for a user who lost it, or whose account someone else enrolled one on'),
  })
  .refine((b) => b.name !== undefined || b.disabled !== undefined || b.isAdmin !== undefined || b.password !== undefined || b.removeMfa !== undefined, {
    message: 'give at least one of name, disabled, isAdmin, password, removeMfa',
  });

export const memberPathSchema = teamPathSchema.extend({ userId: z.uuid() });
export const userPathSchema = z.object({ id: z.uuid() });

function requirePlatformAdmin(principal: Principal): void {
  if (!principal.isAdmin) throw new NotAllowedError('platform admin only');
}

const actorOf = (ctx: AppContext) => ({ id: ctx.state.principal.id, email: ctx.state.principal.email });
const caller = (ctx: AppContext) => ({ principal: ctx.state.principal, ip: ctx.ip });

/** Flushes the mutation with its audit row; a unique-key clash becomes a 409 naming the field. */
async function flushUnique(ctx: AppContext, field: string, message: string): Promise<void> {
  try {
    await ctx.state.em.flush();
  } catch (err) {
    if (err instanceof UniqueConstraintViolationException) throw new ConflictError(message, { errors: [{ field, message: 'already taken' }] });
    throw err;
  }
}

/** Minimal user and team administration: platform admins manage both, team admins their members. */
export function adminRoutes(deps: AppDeps): AppRouter {
  const router = new Router<AppState>({ prefix: '/api/v1' });
  const signedIn = [authenticate(deps), rateLimitPerUser(deps)];
  // Team admins adding members: at most this many lookups that find no addable account per hour.
  const memberLookups = missBudget(deps, 'member-lookup-misses', 20, 3600);

  router.post('/teams', ...signedIn, async (ctx) => {
    requirePlatformAdmin(ctx.state.principal);
    const body = createTeamRequestSchema.parse(ctx.request.body ?? {});
    const team = createTeamRow(ctx.state.em, body);
    recordAudit(ctx.state.em, { actor: actorOf(ctx), action: 'team.create', resourceType: 'team', resourceId: team.id, teamId: team.id, ip: ctx.ip, data: body });
    await flushUnique(ctx, 'slug', `a team with slug "${body.slug}" already exists`);
    // The trigger's notification follows; the creator's next request must not beat it.
    await deps.cache.invalidate([cacheTags.teams]);
    ctx.status = 201;
    ctx.set('Location', `/api/v1/teams/${team.slug}`);
    ctx.body = toTeamView(team);
  });

  router.get('/teams', ...signedIn, async (ctx) => {
    const { principal } = ctx.state;
    // Every team, from the cache (a team list changes when a team is created); the caller's are picked here.
    const all = await allTeams(deps, () => ctx.state.em);
    const roleIn = new Map(principal.teams.map((t) => [t.teamId, t.role]));
    const teams = principal.isAdmin ? all : all.filter((t) => roleIn.has(t.id));
    ctx.body = { items: teams.map((t) => ({ ...t, role: roleIn.get(t.id) ?? null })) };
  });

  router.get('/teams/:slug/members', ...signedIn, async (ctx) => {
    const { slug } = teamPathSchema.parse(ctx.params);
    const team = await teamFor(ctx.state.em, ctx.state.principal, slug, 'runs:read');
    ctx.body = { items: await listMembers(ctx.state.em, team.id) };
  });

  router.put('/teams/:slug/members', ...signedIn, async (ctx) => {
    const { slug } = teamPathSchema.parse(ctx.params);
    const team = await teamFor(ctx.state.em, ctx.state.principal, slug, 'team:manage');
    const body = putMemberRequestSchema.parse(ctx.request.body ?? {});
    const user = await addableUser(ctx.state.em, memberLookups, ctx.state.principal, body.userId ? { id: body.userId } : { email: body.email! });
    const { member, previousRole } = await setMemberRole(ctx.state.em, caller(ctx), team, user, body.role);
    await deps.sessions.accessChanged([user.id]);
    ctx.status = previousRole ? 200 : 201;
    ctx.body = member;
  });

  router.delete('/teams/:slug/members/:userId', ...signedIn, async (ctx) => {
    const { slug, userId } = memberPathSchema.parse(ctx.params);
    const team = await teamFor(ctx.state.em, ctx.state.principal, slug, 'team:manage');
    await removeMember(ctx.state.em, caller(ctx), team, userId);
    await deps.sessions.accessChanged([userId]);
    ctx.status = 204;
  });

  router.post('/users', ...signedIn, async (ctx) => {
    requirePlatformAdmin(ctx.state.principal);
    const body = createUserRequestSchema.parse(ctx.request.body ?? {});
    assertAcceptablePassword(body.password, body.email, 'password');
    const em = ctx.state.em;
    // The admin chose this password: it serves once, to set the user's own at their first sign-in.
    const user = createUserRow(em, { email: body.email, name: body.name, isAdmin: body.isAdmin, passwordHash: await hashPassword(body.password), passwordChangeRequired: true });
    recordAudit(em, {
      actor: actorOf(ctx),
      action: 'user.create',
      resourceType: 'user',
      resourceId: user.id,
      ip: ctx.ip,
      data: { email: user.email, name: user.name, isAdmin: user.isAdmin },
    });
    await flushUnique(ctx, 'email', 'a user with this email already exists');
    ctx.status = 201;
    ctx.body = toUserView(user);
  });

  router.get('/users', ...signedIn, async (ctx) => {
    requirePlatformAdmin(ctx.state.principal);
    const query = listUsersQuerySchema.parse(ctx.query);
    const after = query.cursor ? Buffer.from(query.cursor, 'base64url').toString('utf8') : undefined;
    const users = await listUsers(ctx.state.em, { limit: query.limit + 1, ...(after ? { after } : {}) });
    const page = users.slice(0, query.limit);
    const last = page[page.length - 1];
    ctx.body = { items: page.map(toUserView), nextCursor: users.length > query.limit && last ? Buffer.from(last.email, 'utf8').toString('base64url') : null };
  });

  router.patch('/users/:id', ...signedIn, async (ctx) => {
    requirePlatformAdmin(ctx.state.principal);
    const { id } = userPathSchema.parse(ctx.params);
    const body = updateUserRequestSchema.parse(ctx.request.body ?? {});
    ctx.body = await updateUser(ctx.state.em, deps.sessions, caller(ctx), id, body);
    // Disabled, made or unmade admin, renamed: every process reads the principal again.
    await deps.sessions.accessChanged([id]);
  });

  return router;
}
