import Router from '@koa/router';
import { z } from 'zod';
import {
  INTEGRATION_TYPES,
  createIntegrationRequestSchema,
  listIntegrationsQuerySchema,
  updateIntegrationRequestSchema,
} from '../../contracts/integrations/index.ts';
import { visibleTeamIds } from '../../core/access.ts';
import { InputError } from '../../core/errors.ts';
import { TeamSchema } from '../../db/entities/index.ts';
import { decodeIntegrationCursor, listIntegrations, toIntegrationView } from '../../db/repositories/integrations.ts';
import type { AppContext, AppDeps, AppRouter, AppState } from '../context.ts';
import { authenticate } from '../middleware/auth.ts';
import { rateLimitPerUser } from '../middleware/rate-limit.ts';
import { createIntegration, deleteIntegration, integrationFor, updateIntegration } from '../services/integrations.ts';

const caller = (ctx: AppContext) => ({ principal: ctx.state.principal, ip: ctx.ip });

/**
 * A team's integrations. Reading metadata needs runs:read on the team (operators pick one when they
 * start a run); creating, changing and deleting need integrations:manage. No response carries a
 * secret: only which secrets are stored, and the key's fingerprint and public key.
 */
export function integrationRoutes(deps: AppDeps): AppRouter {
  const router = new Router<AppState>({ prefix: '/api/v1' });
  router.use(authenticate(deps), rateLimitPerUser(deps));

  /** Each type with the JSON Schemas of its settings and secrets, from the zod schemas the API validates with. */
  router.get('/integration-types', (ctx) => {
    ctx.body = {
      types: Object.values(INTEGRATION_TYPES).map((t) => ({
        type: t.type,
        title: t.title,
        settingsSchema: z.toJSONSchema(t.settingsSchema, { io: 'input' }),
        secretsSchema: z.toJSONSchema(t.secretsSchema, { io: 'input' }),
      })),
    };
  });

  router.get('/integrations', async (ctx) => {
    const query = listIntegrationsQuerySchema.parse(ctx.query);
    let teamIds = visibleTeamIds(ctx.state.principal);
    if (query.team) {
      const team = await ctx.state.em.findOne(TeamSchema, { slug: query.team });
      teamIds = team && (!teamIds || teamIds.includes(team.id)) ? [team.id] : [];
    }
    const after = query.cursor ? decodeIntegrationCursor(query.cursor) : undefined;
    if (after === null) throw new InputError('invalid cursor', [{ field: 'cursor', message: 'not a cursor this API issued' }]);
    const { rows, nextCursor } = await listIntegrations(ctx.state.em, { teamIds, type: query.type, limit: query.limit, ...(after ? { after } : {}) });
    ctx.body = { items: rows.map(toIntegrationView), nextCursor };
  });

  router.post('/integrations', async (ctx) => {
    const body = createIntegrationRequestSchema.parse(ctx.request.body ?? {});
    const view = await createIntegration(deps.keyring, ctx.state.em, caller(ctx), body);
    ctx.status = 201;
    ctx.set('Location', `/api/v1/integrations/${view.id}`);
    ctx.body = view;
  });

  router.get('/integrations/:id', async (ctx) => {
    ctx.body = toIntegrationView(await integrationFor(ctx.state.em, ctx.state.principal, ctx.params.id!, 'runs:read'));
  });

  router.patch('/integrations/:id', async (ctx) => {
    const body = updateIntegrationRequestSchema.parse(ctx.request.body ?? {});
    ctx.body = await updateIntegration(deps.keyring, ctx.state.em, caller(ctx), ctx.params.id!, body);
  });

  router.delete('/integrations/:id', async (ctx) => {
    await deleteIntegration(ctx.state.em, caller(ctx), ctx.params.id!);
    ctx.status = 204;
  });

  return router;
}
