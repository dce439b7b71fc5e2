import Router from '@koa/router';
import { monitoringQuerySchema, transitionsQuerySchema, type CheckStatusView, type TransitionView } from '../../contracts/monitoring.ts';
import { visibleTeamIds } from '../../core/access.ts';
import { TeamSchema, type MonitorCheck, type MonitorTransition } from '../../db/entities/index.ts';
import { listChecks, listTransitions } from '../../db/repositories/monitoring.ts';
import type { AppContext, AppDeps, AppRouter, AppState } from '../context.ts';
import { authenticate } from '../middleware/auth.ts';
import { rateLimitPerUser } from '../middleware/rate-limit.ts';

const slug = (row: MonitorCheck | MonitorTransition) => (row.team as unknown as { slug: string }).slug;

/** The teams to read: the caller's visible teams, narrowed to `team` when given (an unseen team reads as empty). */
async function teamsToRead(ctx: AppContext, team?: string): Promise<string[] | undefined> {
  const visible = visibleTeamIds(ctx.state.principal);
  if (!team) return visible;
  const row = await ctx.state.em.findOne(TeamSchema, { slug: team });
  return row && (!visible || visible.includes(row.id)) ? [row.id] : [];
}

/** What the health scans found: each check's current status, and the history of its changes (runs:read). */
export function monitoringRoutes(deps: AppDeps): AppRouter {
  const router = new Router<AppState>({ prefix: '/api/v1' });
  router.use(authenticate(deps), rateLimitPerUser(deps));

  router.get('/monitoring', async (ctx) => {
    const q = monitoringQuerySchema.parse(ctx.query);
    const rows = await listChecks(ctx.state.em, await teamsToRead(ctx, q.team), q.monitor);
    ctx.body = {
      checks: rows.map(
        (r): CheckStatusView => ({
          team: slug(r),
          monitor: r.monitor,
          check: r.check,
          type: r.type,
          status: r.status,
          since: r.since.toISOString(),
          consecutiveFailures: r.consecutiveFailures,
          lastCheckedAt: r.lastCheckedAt.toISOString(),
          lastRunId: r.lastRunId,
          lastOk: r.lastOk,
          lastLatencyMs: r.lastLatencyMs,
          lastDetail: r.lastDetail,
        }),
      ),
    };
  });

  router.get('/monitoring/transitions', async (ctx) => {
    const q = transitionsQuerySchema.parse(ctx.query);
    const rows = await listTransitions(ctx.state.em, await teamsToRead(ctx, q.team), q);
    ctx.body = {
      transitions: rows.map((r): TransitionView => ({ team: slug(r), monitor: r.monitor, check: r.check, from: r.from, to: r.to, at: r.at.toISOString(), runId: r.runId, detail: r.detail })),
    };
  });

  return router;
}
