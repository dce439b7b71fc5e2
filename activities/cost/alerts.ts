import type { Client } from '@temporalio/client';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { CostScanParams, CostScanSummary, CostTotals } from '../../contracts/kinds/cost-scan.ts';
import type { AlertAnnouncer } from '../../core/alerts/announce.ts';
import { ingestAlert } from '../../core/alerts/ingest.ts';
import { teamAlertSource } from '../../core/alerts/team-source.ts';
import type { Keyring } from '../../core/secrets/keyring.ts';
import type { CostFinding } from '../../db/entities/index.ts';

export type CostAlertDeps = { em: EntityManager; temporal: Client; keyring: Keyring } & AlertAnnouncer;

/**
 * Raises what a scan found through the team's alert source, on the same ingest path as an HTTP sender:
 * the forecast over budget (firing while it is, resolved when it is not) and each new finding saving more
 * than the threshold (resolved when a scan no longer sees the finding). Dedup keys make a retried activity a repeat, never a second alert.
 */
export async function raiseCostAlerts(deps: CostAlertDeps, input: { teamId: string; account: string; params: CostScanParams; totals: CostTotals; opened: CostFinding[]; resolved: CostFinding[] }): Promise<CostScanSummary['alerts']> {
  const { params, totals } = input;
  if (!params.alertSource) return [];
  const source = await teamAlertSource(deps.em, deps.keyring, input.teamId, params.alertSource);
  const raised: CostScanSummary['alerts'] = [];
  const raise = async (a: Parameters<typeof ingestAlert>[3]) => {
    const outcome = await ingestAlert(deps, deps.em, source, a);
    raised.push({ dedupKey: a.dedupKey, outcome: outcome.outcome });
  };
  if (params.monthlyBudget !== undefined) {
    const over = totals.forecast > params.monthlyBudget;
    await raise({
      dedupKey: `cost-budget:${params.integration}`,
      status: over ? 'firing' : 'resolved',
      severity: 'warning',
      summary: `${input.account}: forecast ${totals.forecast.toFixed(2)} ${totals.currency} is over the monthly budget of ${params.monthlyBudget.toFixed(2)}`,
      details: { monthToDate: totals.monthToDate, forecast: totals.forecast, budget: params.monthlyBudget },
      labels: { kind: 'cost-scan', account: input.account },
    });
  }
  for (const f of input.opened.filter((f) => f.monthlySavings > params.alertAboveMonthly)) {
    await raise({
      dedupKey: `cost-finding:${f.id}`,
      status: 'firing',
      severity: 'info',
      summary: `${input.account}: ${f.type} ${f.resourceId} (${f.region}) wastes about ${f.monthlySavings.toFixed(2)} USD a month`,
      details: { finding: f.id, detail: f.detail, monthlySavings: f.monthlySavings },
      labels: { kind: 'cost-scan', account: input.account, finding: f.type },
    });
  }
  // A finding the scan no longer sees (fixed, or removed by hand) ends its alert, so nobody is paged
  // for waste that is gone; a finding that never raised one is ignored by the ingest.
  for (const f of input.resolved.filter((f) => f.monthlySavings > params.alertAboveMonthly)) {
    const outcome = await ingestAlert(deps, deps.em, source, { dedupKey: `cost-finding:${f.id}`, status: 'resolved', severity: 'info', summary: `${input.account}: ${f.type} ${f.resourceId} (${f.region}) is gone` });
    if (outcome.outcome !== 'ignored') raised.push({ dedupKey: `cost-finding:${f.id}`, outcome: outcome.outcome });
  }
  return raised;
}
