import { proxyActivities } from '@temporalio/workflow';
import type { CostScanParams, CostScanSummary } from '../contracts/kinds/cost-scan.ts';
import { FAILURE_TYPES, type RunInput } from '../contracts/temporal.ts';
import { createReporter } from './blocks/reporter.ts';
import { recordThrown } from './blocks/run-end.ts';

export type CostScanRunActivities = { runCostScan(input: { runId: string; teamId: string; params: CostScanParams }): Promise<CostScanSummary> };

const scans = proxyActivities<CostScanRunActivities>({
  // 5,000 instances take a few seconds; the bound is for an account that answers slowly.
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '5 minutes',
  retry: { initialInterval: '2 seconds', maximumAttempts: 4 },
});

/**
 * One scan of an AWS account: read-only, so no approval. It succeeds whatever it finds (waste is what it
 * is for, and alerts carry the news); it fails when the account cannot be read.
 */
export async function costScanRun(input: RunInput<CostScanParams>): Promise<void> {
  const { report } = createReporter(input.runId);
  try {
    await report({ status: 'running', step: 'scan' });
    const summary = await scans.runCostScan({ runId: input.runId, teamId: input.teamId, params: input.params });
    const f = summary.findings;
    await report({ status: 'succeeded', step: null, summary, message: `${f.open} open finding(s), ${f.new} new, ${f.resolved} resolved; about ${f.estimatedMonthlySavings.toFixed(2)} USD a month to save` });
  } catch (err) {
    // Failed or cancelled in Temporal too, like every other kind: its UI and metrics agree with the run.
    await recordThrown(err, report, FAILURE_TYPES.scan);
  }
}
