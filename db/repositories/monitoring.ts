import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { CheckResult } from '../../contracts/kinds/health-scan.ts';
import { MonitorCheckSchema, MonitorTransitionSchema, type MonitorCheck, type MonitorTransition } from '../entities/index.ts';

export type ProbeOutcome = { name: string; type: CheckResult['type']; ok: boolean; latencyMs: number; detail: string; certDaysLeft?: number };

/**
 * Counts one scan's probes into the monitor's checks, damped: a check goes down after
 * `failuresBeforeDown` failures in a row and comes back at the first success. One transaction, the
 * monitor's rows locked, so concurrent scans serialise; a scan (run) already counted is not counted
 * again — a retried activity returns what the first attempt recorded.
 */
export async function recordScan(
  root: EntityManager,
  scan: { teamId: string; monitor: string; runId: string; failuresBeforeDown: number; probes: ProbeOutcome[] },
): Promise<CheckResult[]> {
  return root.fork().transactional(async (em) => {
    const rows = await em.find(MonitorCheckSchema, { team: scan.teamId, monitor: scan.monitor }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    const byName = new Map(rows.map((r) => [r.check, r]));
    const now = new Date();
    return scan.probes.map((p): CheckResult => {
      const row = byName.get(p.name);
      const extra = p.certDaysLeft !== undefined ? { certDaysLeft: p.certDaysLeft } : {};
      if (row && row.lastRunId === scan.runId) {
        return { name: p.name, type: p.type, ok: row.lastOk, latencyMs: row.lastLatencyMs, detail: row.lastDetail, status: row.status === 'down' ? 'down' : 'up', ...extra };
      }
      const failures = p.ok ? 0 : (row?.consecutiveFailures ?? 0) + 1;
      const from = row?.status ?? 'unknown';
      // Up at the first success; down only after enough failures in a row (a new check counts as up until then).
      const to: 'up' | 'down' = p.ok ? 'up' : failures >= scan.failuresBeforeDown || from === 'down' ? 'down' : 'up';
      const fields = { type: p.type, consecutiveFailures: failures, lastCheckedAt: now, lastRunId: scan.runId, lastOk: p.ok, lastLatencyMs: p.latencyMs, lastDetail: p.detail };
      if (row) Object.assign(row, fields, from !== to ? { status: to, since: now } : {});
      else em.create(MonitorCheckSchema, { team: scan.teamId, monitor: scan.monitor, check: p.name, status: to, since: now, ...fields });
      const changed = from !== to && !(from === 'unknown' && to === 'up');
      if (changed) em.create(MonitorTransitionSchema, { team: scan.teamId, monitor: scan.monitor, check: p.name, from, to, at: now, runId: scan.runId, detail: p.detail });
      return { name: p.name, type: p.type, ok: p.ok, latencyMs: p.latencyMs, detail: p.detail, status: to, ...extra, ...(changed ? { changed: { from, to } } : {}) };
    });
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
