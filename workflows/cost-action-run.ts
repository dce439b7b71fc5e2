import { CancellationScope, allHandlersFinished, condition, patched, proxyActivities } from '@temporalio/workflow';
import type { CostActionParams, CostActionResult } from '../contracts/kinds/cost-action.ts';
import { FAILURE_TYPES, type RunInput } from '../contracts/temporal.ts';
import { createApprovalGate } from './blocks/approval-gate.ts';
import { createReporter } from './blocks/reporter.ts';
import { recordThrown } from './blocks/run-end.ts';

export type CostActionRunActivities = { runCostAction(input: { runId: string; teamId: string; params: CostActionParams }): Promise<CostActionResult> };

const actOn = (heartbeatTimeoutMs: number) => proxyActivities<CostActionRunActivities>({
  // A volume's snapshot must complete before the delete; large ones take a while.
  startToCloseTimeout: '2 hours',
  // The activity heartbeats every second, so a dead worker is noticed within the platform's heartbeat timeout.
  heartbeatTimeout: heartbeatTimeoutMs,
  cancellationType: 'WAIT_CANCELLATION_COMPLETED',
  retry: { initialInterval: '2 seconds', maximumInterval: '1 minute', maximumAttempts: 10 },
});

/**
 * approval (always: it changes an account) → the action → done. A retried action decides from the
 * resource's own state whether anything is left to do (activities/cost/{aws,azure,gcp}-actions.ts).
 */
export async function costActionRun(input: RunInput<CostActionParams>): Promise<void> {
  const reporter = createReporter(input.runId);
  const { report } = reporter;
  const gate = createApprovalGate(reporter);
  const { params } = input;
  try {
    const decided = await gate.decide({ summary: { action: params.action, resourceId: params.resourceId, region: params.region }, timeoutMs: input.approvalTimeoutMs, next: 'act' });
    if (decided !== 'approved') return;
    const result = await actOn(input.heartbeatTimeoutMs ?? 30_000).runCostAction({ runId: input.runId, teamId: input.teamId, params });
    // Done in the account even if a cancel came while it ran (the call itself cannot be taken back):
    // the record says so. Runs that ended before this replay as they were (no marker in their history).
    const succeeded = () => report({ status: 'succeeded', step: null, summary: result, message: result.detail });
    await (patched('cost-action-done-despite-cancel') ? CancellationScope.nonCancellable(succeeded) : succeeded());
  } catch (err) {
    // Failed or cancelled in Temporal too, like every other kind: its UI and metrics agree with the run.
    await recordThrown(err, report, FAILURE_TYPES.scan);
  } finally {
    gate.recorded();
    await CancellationScope.nonCancellable(() => condition(allHandlersFinished));
  }
}
