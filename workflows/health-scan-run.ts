import { proxyActivities } from '@temporalio/workflow';
import type { HealthScanParams, HealthScanSummary } from '../contracts/kinds/health-scan.ts';
import { FAILURE_TYPES, type RunInput } from '../contracts/temporal.ts';
import { createReporter } from './blocks/reporter.ts';
import { recordThrown } from './blocks/run-end.ts';

const scans = proxyActivities<{ runHealthScan(input: { runId: string; teamId: string; params: HealthScanParams }): Promise<HealthScanSummary> }>({
  // Each probe is bounded by its own timeout, and a scan probes enough at once to end within 8 minutes
  // even if every probe times out (probeLanes in activities/health/index.ts).
  startToCloseTimeout: '10 minutes',
  // The scan beats every 5 s while it probes: a cancel reaches it, and a killed worker's attempt is retried within this.
  heartbeatTimeout: '30 seconds',
  retry: { maximumAttempts: 3 },
});

/**
 * One scan of a monitor's checks: nothing it does changes anything outside, so there is no approval.
 * The run fails when a check is down (it shows red in the list and, with alerts, pages someone); the
 * summary lists every check and what changed.
 */
export async function healthScanRun(input: RunInput<HealthScanParams>): Promise<void> {
  const { report } = createReporter(input.runId);
  try {
    await report({ status: 'running', step: 'scan' });
    const summary = await scans.runHealthScan({ runId: input.runId, teamId: input.teamId, params: input.params });
    const down = summary.checks.filter((c) => c.status === 'down').map((c) => c.name);
    if (down.length) await report({ status: 'failed', step: null, summary, error: `${down.length} of ${summary.checks.length} checks down: ${down.join(', ')}` });
    else await report({ status: 'succeeded', step: null, summary, message: `all ${summary.checks.length} checks up` });
  } catch (err) {
    // Failed or cancelled in Temporal too, like every other kind: its UI and metrics agree with the run.
    await recordThrown(err, report, FAILURE_TYPES.scan);
  }
}
