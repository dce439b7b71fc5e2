import Router from '@koa/router';
import { listEventsQuerySchema } from '../../contracts/events.ts';
import { z } from 'zod';
import { cancelRequestBodySchema, decisionRequestSchema, getRunQuerySchema, listRunsQuerySchema, selectRunFields, startRunRequestSchema } from '../../contracts/runs.ts';
import { InputError } from '../../core/errors.ts';
import { toRunView } from '../../db/repositories/runs.ts';
import type { AppContext, AppDeps, AppRouter, AppState } from '../context.ts';
import { authenticate } from '../middleware/auth.ts';
import { rateLimitPerUser } from '../middleware/rate-limit.ts';
import { kindsBody } from '../services/kinds.ts';
import { answerSameBytes } from '../middleware/compression.ts';
import { runPage } from '../services/run-list.ts';
import { rollbackDeploy } from '../services/deploy-rollback.ts';
import { cancelRun, decide, rerun, runFor, startRun } from '../services/runs.ts';

const caller = (ctx: AppContext) => ({ principal: ctx.state.principal, ip: ctx.ip });
/** A run id that is not a UUID is a 400 naming `id`, not a query PostgreSQL would refuse. */
export const runPathSchema = z.object({ id: z.uuid() });
const runId = (ctx: AppContext) => runPathSchema.parse(ctx.params).id;

export function runRoutes(deps: AppDeps): AppRouter {
  const router = new Router<AppState>({ prefix: '/api/v1' });
  router.use(authenticate(deps), rateLimitPerUser(deps));

  /** Each kind with the JSON Schema of its params, derived from the zod schema the API validates with. */
  router.get('/kinds', (ctx) => {
    // The two made at start, br (the smaller) before gzip.
    answerSameBytes(ctx, kindsBody(), ['br', 'gzip']);
  });

  router.post('/runs', async (ctx) => {
    const body = startRunRequestSchema.parse(ctx.request.body ?? {});
    // The platform links a rollback to the run it undoes (POST /runs/{id}/rollback); a caller naming
    // one could make a run claim to undo any run, of any team.
    if (body.params.rollbackOf !== undefined) throw new InputError('rollbackOf is set by the platform', [{ field: 'params.rollbackOf', message: 'start a rollback with POST /api/v1/runs/{id}/rollback' }]);
    ctx.status = 201;
    ctx.body = await startRun(deps, ctx.state.em, caller(ctx), body);
    ctx.set('Location', `/api/v1/runs/${(ctx.body as { id: string }).id}`);
  });

  router.get('/runs', async (ctx) => {
    const body = await runPage(deps, () => ctx.state.em, ctx.state.principal, listRunsQuerySchema.parse(ctx.query));
    if (typeof body !== 'string') return answerSameBytes(ctx, body);
    ctx.type = 'application/json';
    ctx.body = body;
  });

  router.get('/runs/:id', async (ctx) => {
    const { fields } = getRunQuerySchema.parse(ctx.query);
    ctx.body = selectRunFields(toRunView(await runFor(ctx.state.em, ctx.state.principal, runId(ctx), 'runs:read')), fields);
  });

  router.get('/runs/:id/events', async (ctx) => {
    const run = await runFor(ctx.state.em, ctx.state.principal, runId(ctx), 'runs:read');
    const { after, limit } = listEventsQuerySchema.parse(ctx.query);
    const events = await deps.events.list(run.id, after, limit);
    const last = events[events.length - 1];
    ctx.body = { events, next: events.length === limit && last ? last.seq : null };
  });

  for (const decision of ['approve', 'reject'] as const) {
    router.post(`/runs/:id/${decision}`, async (ctx) => {
      const id = runId(ctx);
      ctx.body = await decide(deps, ctx.state.em, caller(ctx), id, decision, decisionRequestSchema.parse(ctx.request.body ?? {}));
    });
  }

  router.post('/runs/:id/rerun', async (ctx) => {
    const run = await rerun(deps, ctx.state.em, caller(ctx), ctx.params.id!);
    ctx.status = 201;
    ctx.set('Location', `/api/v1/runs/${run.id}`);
    ctx.body = run;
  });

  /** A succeeded deploy: a new deploy run restoring the version it replaced (api/services/deploy-rollback.ts). */
  router.post('/runs/:id/rollback', async (ctx) => {
    const run = await rollbackDeploy(deps, ctx.state.em, caller(ctx), runId(ctx));
    ctx.status = 201;
    ctx.set('Location', `/api/v1/runs/${run.id}`);
    ctx.body = run;
  });

  router.post('/runs/:id/cancel', async (ctx) => {
    const id = runId(ctx);
    const { force } = cancelRequestBodySchema.parse(ctx.request.body ?? {});
    ctx.status = 202;
    ctx.body = await cancelRun(deps, ctx.state.em, caller(ctx), id, force);
  });

  return router;
}
