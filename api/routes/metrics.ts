import Router from '@koa/router';
import { metricsQuerySchema } from '../../contracts/metrics.ts';
import { visibleTeamIds } from '../../core/access.ts';
import { TeamSchema } from '../../db/entities/index.ts';
import { platformMetrics } from '../../db/repositories/metrics.ts';
import type { AppDeps, AppRouter, AppState } from '../context.ts';
import { authenticate } from '../middleware/auth.ts';
import { rateLimitPerUser } from '../middleware/rate-limit.ts';

/** The platform's own figures (runs per kind and status, durations, runs per day, queue depth) for the dashboard's charts; over the teams the caller can see. */
export function metricsRoutes(deps: AppDeps): AppRouter {
  const router = new Router<AppState>({ prefix: '/api/v1' });
  router.use(authenticate(deps), rateLimitPerUser(deps));

  router.get('/metrics', async (ctx) => {
    const q = metricsQuerySchema.parse(ctx.query);
    let teamIds = visibleTeamIds(ctx.state.principal);
    if (q.team) {
      const row = await ctx.state.em.findOne(TeamSchema, { slug: q.team });
      // A team the caller cannot see reads as one without runs, like the other lists.
      teamIds = row && (!teamIds || teamIds.includes(row.id)) ? [row.id] : [];
    }
    ctx.body = await platformMetrics(ctx.state.em, teamIds, q.days);
  });
  return router;
}
