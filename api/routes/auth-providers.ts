import Router from '@koa/router';
import { z } from 'zod';
import { InputError, NotAllowedError, NotFoundError } from '../../core/errors.ts';
import { parseIdpMetadata } from '../../core/sso/saml.ts';
import { createProvider, createProviderRequestSchema, deleteProvider, listProviders, providerViewSchema, providerWarnings, toProviderView, updateProvider, updateProviderRequestSchema } from '../../core/sso/store.ts';
import { AuthProviderSchema } from '../../db/entities/index.ts';
import type { AppContext, AppDeps, AppRouter, AppState } from '../context.ts';
import { authenticate } from '../middleware/auth.ts';
import { rateLimitPerUser } from '../middleware/rate-limit.ts';

export const providerPathSchema = z.object({ id: z.uuid() });
export const samlMetadataRequestSchema = z.object({ xml: z.string().min(1).max(200_000).describe('the IdP metadata document') });
export const samlMetadataResponseSchema = z.object({
  settings: z.object({ entryPoint: z.string(), idpIssuer: z.string() }),
  secrets: z.object({ idpCert: z.string() }),
});
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

  // Reads an IdP's SAML metadata into the settings and secret a SAML provider needs; stores nothing.
  router.post('/auth/providers/saml-metadata', async (ctx) => {
    caller(ctx);
    const { xml } = samlMetadataRequestSchema.parse(ctx.request.body ?? {});
    const parsed = parseIdpMetadata(xml);
    if (!parsed) throw new InputError('no IdP entity id, HTTP-Redirect SingleSignOnService and signing certificate found in the metadata', [{ field: 'xml', message: 'not usable IdP metadata' }]);
    ctx.body = { settings: { entryPoint: parsed.entryPoint, idpIssuer: parsed.idpIssuer }, secrets: { idpCert: parsed.idpCert } };
  });

  router.get('/auth/providers/:id', async (ctx) => {
    caller(ctx);
    const { id } = providerPathSchema.parse(ctx.params);
    const row = await ctx.state.em.findOne(AuthProviderSchema, { id });
    if (!row) throw new NotFoundError('no such auth provider');
    ctx.body = { ...toProviderView(row), warnings: await providerWarnings(ctx.state.em, row) };
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
