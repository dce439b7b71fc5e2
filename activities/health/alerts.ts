import type { Client } from '@temporalio/client';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { CheckResult } from '../../contracts/kinds/health-scan.ts';
import type { AlertAnnouncer } from '../../core/alerts/announce.ts';
import { ingestAlert } from '../../core/alerts/ingest.ts';
import { teamAlertSource } from '../../core/alerts/team-source.ts';
import type { Keyring } from '../../core/secrets/keyring.ts';

export type HealthAlertDeps = { em: EntityManager; temporal: Client; keyring: Keyring } & AlertAnnouncer;

/**
 * Raises the monitor's checks through the team's alert source, on the same ingest path as an HTTP
 * sender: a check that is down (damped by failuresBeforeDown; an expiring certificate counts) fires,
 * a repeat each scan while it stays down; a check that is up resolves what is open (nothing, mostly).
 * One dedup key per monitor and check, so a retried activity is a repeat, never a second alert.
 */
export async function raiseHealthAlerts(deps: HealthAlertDeps, teamId: string, sourceId: string, monitor: string, checks: CheckResult[]) {
  const source = await teamAlertSource(deps.em, deps.keyring, teamId, sourceId);
  const raised: { dedupKey: string; outcome: string }[] = [];
  for (const c of checks) {
    const dedupKey = `health:${monitor}:${c.name}`;
    const outcome = await ingestAlert(deps, deps.em, source, {
      dedupKey,
      status: c.status === 'down' ? 'firing' : 'resolved',
      severity: 'critical',
      summary: `${monitor}/${c.name} (${c.type}) is down: ${c.detail}`,
      details: { check: c.name, type: c.type, detail: c.detail, latencyMs: c.latencyMs, ...(c.certDaysLeft !== undefined ? { certDaysLeft: c.certDaysLeft } : {}) },
      labels: { kind: 'health-scan', monitor, check: c.name },
    });
    if (outcome.outcome !== 'ignored') raised.push({ dedupKey, outcome: outcome.outcome });
  }
  return raised;
}
