import type { EntityManager } from '@mikro-orm/postgresql';
import type { CheckResult } from '../../contracts/kinds/health-scan.ts';
import { MonitorCheckSchema, MonitorTransitionSchema, type MonitorCheck, type MonitorTransition } from '../entities/index.ts';

export type ProbeOutcome = { name: string; type: CheckResult['type']; ok: boolean; latencyMs: number; detail: string; certDaysLeft?: number };

type CheckRow = { check: string; status: 'up' | 'down' | 'unknown'; consecutive_failures: number; since: Date; last_run_id: string; last_ok: boolean; last_latency_ms: number; last_detail: string };

/**
 * Counts one scan's probes into the monitor's checks, damped: a check goes down after
 * `failuresBeforeDown` failures in a row and comes back at the first success. One transaction, the
 * monitor's rows locked, so concurrent scans serialise; a scan (run) already counted is not counted
 * again — a retried activity returns what the first attempt recorded. The rows are read and written
 * in one statement each: through the unit of work a 500-check monitor took half a second (hydrating
 * the locked rows, then one UPDATE per row of the composite key).
 */
export async function recordScan(
  root: EntityManager,
  scan: { teamId: string; monitor: string; runId: string; failuresBeforeDown: number; probes: ProbeOutcome[] },
): Promise<CheckResult[]> {
  return root.fork().transactional(async (em) => {
    const rows = await em.execute<CheckRow[]>(
      'select "check", status, consecutive_failures, since, last_run_id, last_ok, last_latency_ms, last_detail from monitor_checks where team_id = ? and monitor = ? for update',
      [scan.teamId, scan.monitor],
    );
    const byName = new Map(rows.map((r) => [r.check, r]));
    const now = new Date();
    const writes: Array<{ check: string; type: string; status: string; consecutive_failures: number; since: Date; last_ok: boolean; last_latency_ms: number; last_detail: string }> = [];
    const results = scan.probes.map((p): CheckResult => {
      const row = byName.get(p.name);
      const extra = p.certDaysLeft !== undefined ? { certDaysLeft: p.certDaysLeft } : {};
      if (row && row.last_run_id === scan.runId) {
        return { name: p.name, type: p.type, ok: row.last_ok, latencyMs: row.last_latency_ms, detail: row.last_detail, status: row.status === 'down' ? 'down' : 'up', ...extra };
      }
      const failures = p.ok ? 0 : (row?.consecutive_failures ?? 0) + 1;
      const from = row?.status ?? 'unknown';
      // Up at the first success; down only after enough failures in a row (a new check counts as up until then).
      const to: 'up' | 'down' = p.ok ? 'up' : failures >= scan.failuresBeforeDown || from === 'down' ? 'down' : 'up';
      const kept = row && from === to ? { status: row.status, since: row.since } : { status: to, since: now };
      writes.push({ check: p.name, type: p.type, ...kept, consecutive_failures: failures, last_ok: p.ok, last_latency_ms: p.latencyMs, last_detail: p.detail });
      const changed = from !== to && !(from === 'unknown' && to === 'up');
      if (changed) em.create(MonitorTransitionSchema, { team: scan.teamId, monitor: scan.monitor, check: p.name, from, to, at: now, runId: scan.runId, detail: p.detail });
      return { name: p.name, type: p.type, ok: p.ok, latencyMs: p.latencyMs, detail: p.detail, status: to, ...extra, ...(changed ? { changed: { from, to } } : {}) };
    });
    if (writes.length > 0) {
      await em.execute(
        `insert into monitor_checks (team_id, monitor, "check", type, status, consecutive_failures, since, last_checked_at, last_run_id, last_ok, last_latency_ms, last_detail)
         select ?, ?, w."check", w.type, w.status, w.consecutive_failures, w.since, ?, ?, w.last_ok, w.last_latency_ms, w.last_detail
         from jsonb_to_recordset(?::jsonb) as w("check" text, type text, status text, consecutive_failures int, since timestamptz, last_ok boolean, last_latency_ms int, last_detail text)
         on conflict (team_id, monitor, "check") do update set type = excluded.type, status = excluded.status, consecutive_failures = excluded.consecutive_failures, since = excluded.since,
           last_checked_at = excluded.last_checked_at, last_run_id = excluded.last_run_id, last_ok = excluded.last_ok, last_latency_ms = excluded.last_latency_ms, last_detail = excluded.last_detail`,
        [scan.teamId, scan.monitor, now, scan.runId, JSON.stringify(writes)],
      );
    }
    return results;
  });
}

export function listChecks(em: EntityManager, teamIds: string[] | undefined, monitor?: string): Promise<MonitorCheck[]> {
  return em.find(MonitorCheckSchema, { ...(teamIds ? { team: { $in: teamIds } } : {}), ...(monitor ? { monitor } : {}) }, { populate: ['team'], orderBy: { monitor: 'asc', check: 'asc' }, limit: 1000 });
}

export function listTransitions(em: EntityManager, teamIds: string[] | undefined, q: { monitor?: string; check?: string; limit: number }): Promise<MonitorTransition[]> {
  return em.find(
    MonitorTransitionSchema,
    { ...(teamIds ? { team: { $in: teamIds } } : {}), ...(q.monitor ? { monitor: q.monitor } : {}), ...(q.check ? { check: q.check } : {}) },
    { populate: ['team'], orderBy: { id: 'desc' }, limit: q.limit },
  );
}
