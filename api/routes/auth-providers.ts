import Router from '@koa/router';
import { z } from 'zod';
import { NotAllowedError, NotFoundError } from '../../core/errors.ts';
import { createProvider, createProviderRequestSchema, deleteProvider, listProviders, providerViewSchema, toProviderView, updateProvider, updateProviderRequestSchema } from '../../core/sso/store.ts';
import { AuthProviderSchema } from '../../db/entities/index.ts';
import type { AppContext, AppDeps, AppRouter, AppState } from '../context.ts';
import { authenticate } from '../middleware/auth.ts';
import { rateLimitPerUser } from '../middleware/rate-limit.ts';

export const providerPathSchema = z.object({ id: z.uuid() });
export const providerListSchema = z.object({ items: z.array(providerViewSchema) });

const caller = (ctx: AppContext) => {
  const { principal } = ctx.state;
  if (!principal.isAdmin) throw new NotAllowedError('platform admin only');
  return { actor: { id: principal.id, email: principal.email }, ip: ctx.ip };
};

/** Sign-in providers (platform admins): settings and mapping rules; secrets are write-only, sealed like integrations'. */
export function authProviderRoutes(deps: AppDeps): AppRouter {
  const router = new Router<AppState>({ prefix: '/api/v1' });
  router.use('/auth/providers', authenticate(deps), rateLimitPerUser(deps));

  router.get('/auth/providers', async (ctx) => {
    caller(ctx);
    ctx.body = { items: (await listProviders(ctx.state.em, { enabledOnly: false })).map(toProviderView) };
  });

  router.post('/auth/providers', async (ctx) => {
    const who = caller(ctx);
    const body = createProviderRequestSchema.parse(ctx.request.body ?? {});
    const view = await createProvider(deps.keyring, ctx.state.em, who, body);
    ctx.status = 201;
    ctx.set('Location', `/api/v1/auth/providers/${view.id}`);
    ctx.body = view;
  });

  router.get('/auth/providers/:id', async (ctx) => {
    caller(ctx);
    const { id } = providerPathSchema.parse(ctx.params);
    const row = await ctx.state.em.findOne(AuthProviderSchema, { id });
    if (!row) throw new NotFoundError('no such auth provider');
    ctx.body = toProviderView(row);
  });

  router.patch('/auth/providers/:id', async (ctx) => {
    const who = caller(ctx);
    const { id } = providerPathSchema.parse(ctx.params);
    ctx.body = await updateProvider(deps.keyring, ctx.state.em, who, id, updateProviderRequestSchema.parse(ctx.request.body ?? {}));
  });

  router.delete('/auth/providers/:id', async (ctx) => {
    const who = caller(ctx);
    const { id } = providerPathSchema.parse(ctx.params);
    await deleteProvider(ctx.state.em, who, id);
    ctx.status = 204;
  });

  return router;
}
