import type { EntityManager } from '@mikro-orm/postgresql';
import type { PlatformMetrics } from '../../contracts/metrics.ts';

/**
 * The platform's own figures over the runs of `teamIds` (undefined = every team), aggregated in
 * PostgreSQL: the window is bounded (at most 90 days) and the runs table is indexed by creation time.
 */
export async function platformMetrics(em: EntityManager, teamIds: string[] | undefined, days: number): Promise<PlatformMetrics> {
  const now = new Date();
  const since = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - (days - 1)));
  const teams = teamIds ? 'and team_id = any(?::uuid[])' : '';
  // MikroORM spreads an array parameter into a list; a Postgres array literal keeps it one parameter.
  const teamArg = teamIds ? [`{${teamIds.join(',')}}`] : [];
  const conn = em.getConnection();
  const [byKindStatus, durations, perDay, active] = await Promise.all([
    conn.execute<{ kind: string; status: string; runs: string }[]>(
      `select kind, status, count(*) as runs from runs where created_at >= ? ${teams} group by kind, status order by kind, status`,
      [since, ...teamArg],
    ),
    conn.execute<{ kind: string; runs: string; p50: number; p95: number; max: number }[]>(
      `select kind, count(*) as runs,
              percentile_cont(0.5) within group (order by d) as p50,
              percentile_cont(0.95) within group (order by d) as p95,
              max(d) as max
         from (select kind, greatest(0, extract(epoch from finished_at - started_at) * 1000 - waiting_ms) as d
                 from runs where finished_at >= ? and started_at is not null ${teams}) r
        group by kind order by kind`,
      [since, ...teamArg],
    ),
    conn.execute<{ day: string; kind: string; runs: string; failed: string }[]>(
      `select to_char(date_trunc('day', created_at at time zone 'UTC'), 'YYYY-MM-DD') as day, kind, count(*) as runs,
              count(*) filter (where status in ('failed', 'timed_out')) as failed
         from runs where created_at >= ? ${teams} group by 1, 2 order by 1, 2`,
      [since, ...teamArg],
    ),
    conn.execute<{ queued: string; running: string; awaiting: string }[]>(
      `select count(*) filter (where status = 'queued') as queued, count(*) filter (where status = 'running') as running,
              count(*) filter (where status = 'awaiting_approval') as awaiting
         from runs where status in ('queued', 'running', 'awaiting_approval') ${teams}`,
      teamArg,
    ),
  ]);
  return {
    since: since.toISOString(),
    byKindStatus: byKindStatus.map((r) => ({ kind: r.kind, status: r.status as PlatformMetrics['byKindStatus'][number]['status'], runs: Number(r.runs) })),
    durations: durations.map((r) => ({ kind: r.kind, runs: Number(r.runs), p50Ms: Math.round(Number(r.p50)), p95Ms: Math.round(Number(r.p95)), maxMs: Math.round(Number(r.max)) })),
    perDay: perDay.map((r) => ({ day: r.day, kind: r.kind, runs: Number(r.runs), failed: Number(r.failed) })),
    active: { queued: Number(active[0]?.queued ?? 0), running: Number(active[0]?.running ?? 0), awaitingApproval: Number(active[0]?.awaiting ?? 0) },
  };
}
