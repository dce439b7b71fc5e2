import Router from '@koa/router';
import { pagingContactSchema } from '../../contracts/alerts/contact.ts';
import { NotFoundError } from '../../core/errors.ts';
import { recordAudit } from '../../db/repositories/audit.ts';
import { UserSchema } from '../../db/entities/index.ts';
import type { AppDeps, AppRouter, AppState } from '../context.ts';
import { authenticate } from '../middleware/auth.ts';
import { rateLimitPerUser } from '../middleware/rate-limit.ts';
import { requireInteractive } from './tokens.ts';

/**
 * A person's paging contact: the phone SMS steps text and the devices push steps reach. Each person
 * keeps their own (nobody else can send a colleague's pages somewhere else); a change is audited.
 */
export function contactRoutes(deps: AppDeps): AppRouter {
  const router = new Router<AppState>({ prefix: '/api/v1' });
  const signedIn = [authenticate(deps), rateLimitPerUser(deps)];

  router.get('/me/contact', ...signedIn, async (ctx) => {
    const user = await ctx.state.em.findOne(UserSchema, { id: ctx.state.principal.id }, { fields: ['phone', 'pushTokens'] });
    if (!user) throw new NotFoundError('user not found');
    ctx.body = pagingContactSchema.parse({ phone: user.phone ?? null, pushTokens: user.pushTokens ?? [] });
  });

  router.put('/me/contact', ...signedIn, async (ctx) => {
    const { principal, em } = ctx.state;
    // Where someone's pages go is theirs to say in person: an API token cannot redirect them.
    requireInteractive(principal, 'changing the paging contact');
    const contact = pagingContactSchema.parse(ctx.request.body ?? {});
    const user = await em.findOne(UserSchema, { id: principal.id });
    if (!user) throw new NotFoundError('user not found');
    user.phone = contact.phone;
    user.pushTokens = contact.pushTokens;
    // The number and tokens are the person's own: the record says that they changed, not to what.
    recordAudit(em, { actor: principal, action: 'user.contact_change', resourceType: 'user', resourceId: principal.id, ip: ctx.ip, data: { phone: contact.phone !== null, devices: contact.pushTokens.length } });
    await em.flush();
    ctx.body = contact;
  });

  return router;
}
