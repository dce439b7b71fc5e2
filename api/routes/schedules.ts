import Router from '@koa/router';
import { createScheduleRequestSchema, listSchedulesQuerySchema, pauseRequestSchema, schedulePathSchema, updateScheduleRequestSchema } from '../../contracts/schedules.ts';
import type { AppContext, AppDeps, AppRouter, AppState } from '../context.ts';
import { authenticate } from '../middleware/auth.ts';
import { rateLimitPerUser } from '../middleware/rate-limit.ts';
import { createSchedule, deleteSchedule, listSchedules, scheduleFor, setPaused, toScheduleView, triggerSchedule, updateSchedule } from '../services/schedules.ts';

const caller = (ctx: AppContext) => ({ principal: ctx.state.principal, ip: ctx.ip });

/**
 * A team's schedules: recurring runs fired by Temporal Schedules. Reading needs runs:read on the team;
 * creating, changing, pausing, triggering and deleting need the right to start the schedule's kind —
 * a schedule does nothing its author could not do by hand, and each fire is checked against the author again.
 */
export function scheduleRoutes(deps: AppDeps): AppRouter {
  const router = new Router<AppState>({ prefix: '/api/v1' });
  router.use(authenticate(deps), rateLimitPerUser(deps));

  router.get('/schedules', async (ctx) => {
    const query = listSchedulesQuerySchema.parse(ctx.query);
    ctx.body = { schedules: await listSchedules(deps, ctx.state.em, ctx.state.principal, query.team) };
  });

  router.post('/schedules', async (ctx) => {
    const body = createScheduleRequestSchema.parse(ctx.request.body ?? {});
    const view = await createSchedule(deps, ctx.state.em, caller(ctx), body);
    ctx.status = 201;
    ctx.set('Location', `/api/v1/schedules/${view.id}`);
    ctx.body = view;
  });

  router.get('/schedules/:id', async (ctx) => {
    const { id } = schedulePathSchema.parse(ctx.params);
    ctx.body = await toScheduleView(deps, await scheduleFor(ctx.state.em, ctx.state.principal, id));
  });

  router.patch('/schedules/:id', async (ctx) => {
    const { id } = schedulePathSchema.parse(ctx.params);
    const change = updateScheduleRequestSchema.parse(ctx.request.body ?? {});
    ctx.body = await updateSchedule(deps, ctx.state.em, caller(ctx), id, change);
  });

  router.delete('/schedules/:id', async (ctx) => {
    const { id } = schedulePathSchema.parse(ctx.params);
    await deleteSchedule(deps, ctx.state.em, caller(ctx), id);
    ctx.status = 204;
  });

  for (const action of ['pause', 'unpause'] as const) {
    router.post(`/schedules/:id/${action}`, async (ctx) => {
      const { id } = schedulePathSchema.parse(ctx.params);
      const { note } = pauseRequestSchema.parse(ctx.request.body ?? {});
      ctx.body = await setPaused(deps, ctx.state.em, caller(ctx), id, action === 'pause', note);
    });
  }

  router.post('/schedules/:id/trigger', async (ctx) => {
    const { id } = schedulePathSchema.parse(ctx.params);
    ctx.status = 202;
    ctx.body = await triggerSchedule(deps, ctx.state.em, caller(ctx), id);
  });

  return router;
}
