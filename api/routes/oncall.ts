import Router from '@koa/router';
import { createOnCallScheduleRequestSchema, listOnCallQuerySchema, onCallNowQuerySchema, onCallPathSchema, onCallRangeQuerySchema, updateOnCallScheduleRequestSchema } from '../../contracts/alerts/index.ts';
import type { AppDeps, AppRouter, AppState } from '../context.ts';
import { authenticate } from '../middleware/auth.ts';
import { rateLimitPerUser } from '../middleware/rate-limit.ts';
import { createOnCallSchedule, listOnCallSchedules, onCallNow, onCallRange, onCallScheduleFor, toOnCallView, updateOnCallSchedule } from '../services/alerts-oncall.ts';

/** On-call schedules: listing them, who is on call now and over a range (runs:read); creating or changing one needs alerts:manage. */
export function onCallRoutes(deps: AppDeps): AppRouter {
  const router = new Router<AppState>({ prefix: '/api/v1' });
  router.use(authenticate(deps), rateLimitPerUser(deps));

  router.get('/oncall', async (ctx) => {
    const { team } = listOnCallQuerySchema.parse(ctx.query);
    ctx.body = { schedules: await listOnCallSchedules(ctx.state.em, ctx.state.principal, team) };
  });
  router.post('/oncall', async (ctx) => {
    const body = createOnCallScheduleRequestSchema.parse(ctx.request.body ?? {});
    const view = await createOnCallSchedule(ctx.state.em, { principal: ctx.state.principal, ip: ctx.ip }, body);
    ctx.status = 201;
    ctx.set('Location', `/api/v1/oncall/${view.id}`);
    ctx.body = view;
  });
  router.get('/oncall/:schedule', async (ctx) => {
    const { schedule } = onCallPathSchema.parse(ctx.params);
    ctx.body = toOnCallView(await onCallScheduleFor(ctx.state.em, ctx.state.principal, schedule));
  });
  router.put('/oncall/:schedule', async (ctx) => {
    const { schedule } = onCallPathSchema.parse(ctx.params);
    const body = updateOnCallScheduleRequestSchema.parse(ctx.request.body ?? {});
    ctx.body = await updateOnCallSchedule(ctx.state.em, { principal: ctx.state.principal, ip: ctx.ip }, schedule, body);
  });
  router.get('/oncall/:schedule/now', async (ctx) => {
    const { schedule } = onCallPathSchema.parse(ctx.params);
    const { at } = onCallNowQuerySchema.parse(ctx.query);
    ctx.body = await onCallNow(ctx.state.em, ctx.state.principal, schedule, at);
  });
  router.get('/oncall/:schedule/shifts', async (ctx) => {
    const { schedule } = onCallPathSchema.parse(ctx.params);
    const { from, to } = onCallRangeQuerySchema.parse(ctx.query);
    ctx.body = await onCallRange(ctx.state.em, ctx.state.principal, schedule, from, to);
  });
  return router;
}
