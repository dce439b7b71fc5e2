import Router from '@koa/router';
import { idPathSchema, sessionListSchema, userSessionsPathSchema } from '../../contracts/identity.ts';
import { NotAllowedError, NotFoundError } from '../../core/errors.ts';
import { recordAudit } from '../../db/repositories/audit.ts';
import { isLiveSessionOf, liveSessionsOf, revokeUserRefreshFamilies } from '../../db/repositories/refresh-tokens.ts';
import { findUser } from '../../db/repositories/users.ts';
import type { AppContext, AppDeps, AppRouter, AppState } from '../context.ts';
import { authenticate } from '../middleware/auth.ts';
import { rateLimitPerUser } from '../middleware/rate-limit.ts';
import { requireInteractive } from './tokens.ts';

const view = (current: string | undefined) => (s: Awaited<ReturnType<typeof liveSessionsOf>>[number]) => ({
  id: s.id,
  current: s.id === current,
  userAgent: s.userAgent,
  ip: s.ip,
  createdAt: s.createdAt.toISOString(),
  lastUsedAt: s.lastUsedAt.toISOString(),
});

/**
 * Login sessions (refresh families): a user lists and ends their own, a platform admin anyone's. Ending
 * one revokes it in PostgreSQL and announces it, so its access tokens stop and its sockets close at once.
 */
export function sessionRoutes(deps: AppDeps): AppRouter {
  const router = new Router<AppState>({ prefix: '/api/v1' });
  const signedIn = [authenticate(deps), rateLimitPerUser(deps)];
  const actor = (ctx: AppContext) => ctx.state.principal;

  async function endAll(ctx: AppContext, userId: string, reason: string, keep?: string): Promise<number> {
    const families = await ctx.state.em.transactional(async (tx) => {
      const ended = await revokeUserRefreshFamilies(tx, userId, reason, keep);
      recordAudit(tx, { actor: actor(ctx), action: 'session.revoke_all', resourceType: 'user', resourceId: userId, ip: ctx.ip, data: { sessions: ended.length, keptCurrent: keep !== undefined } });
      return ended;
    });
    await deps.sessions.announce(families);
    return families.length;
  }

  router.get('/me/sessions', ...signedIn, async (ctx) => {
    const { principal } = ctx.state;
    // Sign-in addresses and devices are the person's, not a team token's to read.
    requireInteractive(principal, 'listing sessions');
    ctx.body = sessionListSchema.parse({ items: (await liveSessionsOf(ctx.state.em, principal.id)).map(view(principal.family)) });
  });

  router.delete('/me/sessions/:id', ...signedIn, async (ctx) => {
    const { principal, em } = ctx.state;
    requireInteractive(principal, 'ending a session');
    const { id } = idPathSchema.parse(ctx.params);
    if (!(await isLiveSessionOf(em, principal.id, id))) throw new NotFoundError('session not found');
    await deps.sessions.revoke(em, id, 'user-revoked');
    recordAudit(em, { actor: principal, action: 'session.revoke', resourceType: 'session', resourceId: id, ip: ctx.ip });
    await em.flush();
    ctx.status = 204;
  });

  // Every other session of the caller's: the one making the request stays (logout ends it).
  router.delete('/me/sessions', ...signedIn, async (ctx) => {
    const { principal } = ctx.state;
    requireInteractive(principal, 'ending sessions');
    await endAll(ctx, principal.id, 'user-revoked', principal.family);
    ctx.status = 204;
  });

  router.get('/users/:id/sessions', ...signedIn, async (ctx) => {
    if (!ctx.state.principal.isAdmin) throw new NotAllowedError('platform admin only');
    const { id } = userSessionsPathSchema.parse(ctx.params);
    if (!(await findUser(ctx.state.em, { id }))) throw new NotFoundError('user not found');
    ctx.body = sessionListSchema.parse({ items: (await liveSessionsOf(ctx.state.em, id)).map(view(ctx.state.principal.family)) });
  });

  router.delete('/users/:id/sessions', ...signedIn, async (ctx) => {
    if (!ctx.state.principal.isAdmin) throw new NotAllowedError('platform admin only');
    const { id } = userSessionsPathSchema.parse(ctx.params);
    if (!(await findUser(ctx.state.em, { id }))) throw new NotFoundError('user not found');
    await endAll(ctx, id, 'admin-revoked', id === ctx.state.principal.id ? ctx.state.principal.family : undefined);
    ctx.status = 204;
  });

  return router;
}
