import { ApplicationFailure, CancellationScope, condition, allHandlersFinished, isCancellation, patched, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { DeployParams, DeployPlan, DeployRunInput, DeploySummary } from '../contracts/kinds/deploy.ts';
import type { RunStatus } from '../contracts/runs.ts';
import { FAILURE_TYPES } from '../contracts/temporal.ts';
import { createApprovalGate } from './blocks/approval-gate.ts';
import { createReporter, type RunBookkeepingActivities } from './blocks/reporter.ts';

type StepInput = { runId: string; teamId: string; params: DeployParams };
type RolloutInput = StepInput & { plan: DeployPlan };

/** The activities this workflow calls (activities/deploy/), as it sees them. */
export type DeployRunActivities = RunBookkeepingActivities & {
  deployPlan(input: StepInput): Promise<DeployPlan>;
  deployRollout(input: RolloutInput): Promise<{ live: Record<string, string> }>;
  deployVerify(input: StepInput & { plan?: DeployPlan }): Promise<{ rounds: number }>;
  deploySwitch(input: RolloutInput): Promise<void>;
  deployRollback(input: RolloutInput): Promise<{ live: Record<string, string>; changed: boolean }>;
};

export type DeployRunResult = { status: Extract<RunStatus, 'succeeded' | 'discarded' | 'timed_out'>; summary: DeploySummary };

const quick = proxyActivities<DeployRunActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds', maximumAttempts: 5, nonRetryableErrorTypes: [FAILURE_TYPES.deploy] },
});

// The plan only reads the target (inspect a container, get a Deployment): run in the workflow's own
// worker, its result is in the history before anything changes, without a task-queue round trip.
const reading = proxyLocalActivities<Pick<DeployRunActivities, 'deployPlan'>>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds', maximumAttempts: 5, nonRetryableErrorTypes: [FAILURE_TYPES.deploy] },
});

function failureOf(err: unknown): string {
  let e: unknown = err;
  while ((e as { cause?: unknown }).cause) e = (e as { cause?: unknown }).cause;
  return (e as Error).message || String(err);
}

const targetName = (p: DeployParams) => (p.target.platform === 'docker' ? p.target.container : `${p.target.namespace ?? ''}${p.target.namespace ? '/' : ''}${p.target.deployment}`);
const imagesText = (images: Record<string, string>) => [...new Set(Object.values(images))].join(', ');
const diffText = (plan: DeployPlan) =>
  plan.changes.length === 0 ? 'no changes' : plan.changes.map((c) => `${c.container} ${c.field}: ${c.from ?? '(none)'} → ${c.to ?? '(none)'}`).join('; ');

/**
 * diff (the rollback point is read and recorded first) → approval when asked → rollout (followed with
 * heartbeats) → verification gate → succeeded. A failed rollout or verification, or a cancel after
 * the rollout began, restores the rollback point and ends the run failed/cancelled saying so
 * ("rolled back to image X").
 */
export async function deployRun(input: DeployRunInput): Promise<DeployRunResult> {
  const { runId, teamId, params } = input;
  // The steps heartbeat every second; a short timeout makes a cancel reach them within seconds
  // (Temporal sends heartbeats, and so learns of a cancel, at most every 80% of it) and a dead worker noticed soon.
  const heartbeatTimeout = Math.min(input.heartbeatTimeoutMs ?? 30_000, 5_000);
  const long = proxyActivities<DeployRunActivities>({
    startToCloseTimeout: '3 hours',
    heartbeatTimeout,
    // A cancel must stop the rollout step before the rollback starts writing.
    cancellationType: 'WAIT_CANCELLATION_COMPLETED',
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10, nonRetryableErrorTypes: [FAILURE_TYPES.deploy] },
  });
  const reporter = createReporter(runId);
  const { report } = reporter;
  const gate = createApprovalGate(reporter);
  const step = { runId, teamId, params };
  let plan: DeployPlan | undefined;
  let summary: DeploySummary | undefined;
  let changing = false;

  try {
    if (patched('deploy-plan-beside-running')) {
      // The plan only reads, so it need not wait for the record that the run is running.
      [, plan] = await Promise.all([report({ status: 'running', step: 'diff' }), reading.deployPlan(step)]);
    } else {
      await report({ status: 'running', step: 'diff' });
      plan = patched('deploy-plan-local') ? await reading.deployPlan(step) : await quick.deployPlan(step);
    }
    const point = plan.rollbackPoint;
    const previous = point.platform === 'docker' ? { [point.container]: point.image } : point.images;
    summary = { platform: params.target.platform, target: targetName(params), changes: plan.changes, previous, live: previous };
    if (params.requireApproval && !input.autoApprove) {
      await report({ step: 'diff', summary, message: `diff: ${diffText(plan)}` });
      const decided = await gate.decide({ summary, timeoutMs: input.approvalTimeoutMs, next: 'rollout' });
      if (decided !== 'approved') return { status: decided, summary };
    } else {
      // One record for both: every state change is a round trip through Temporal and PostgreSQL.
      await report({ step: 'rollout', summary, message: `diff: ${diffText(plan)}` });
    }

    changing = true;
    const rolled = await long.deployRollout({ ...step, plan });
    summary = { ...summary, live: rolled.live };
    if (params.verification) {
      await report({ step: 'verify', summary, message: `rolled out ${imagesText(rolled.live)}; verifying for ${params.verification.durationSeconds}s` });
      await long.deployVerify({ ...step, plan });
    }
    if (plan.rollbackPoint.platform === 'kubernetes' && plan.rollbackPoint.blueGreen) {
      await report({ step: 'switch', summary, message: `switching service ${plan.rollbackPoint.blueGreen.service} to ${plan.rollbackPoint.blueGreen.next}` });
      // A cancel must not roll back while the switch still writes (it neither heartbeats nor learns of
      // one): the switch finishes, and the cancel then rolls back what it did. Runs that began
      // switching before this replay as they were (no marker in their history).
      const switchInput = { ...step, plan };
      await (patched('deploy-switch-not-cancellable') ? CancellationScope.nonCancellable(() => quick.deploySwitch(switchInput)) : quick.deploySwitch(switchInput));
    }
    await report({ status: 'succeeded', step: null, summary, message: `live: ${imagesText(rolled.live)}` });
    return { status: 'succeeded', summary };
  } catch (err) {
    const cancelled = isCancellation(err);
    const reason = cancelled ? 'cancelled' : failureOf(err);
    if (changing && plan && summary) {
      const undone = await rollBack(long, report, { ...step, plan }, summary, reason, cancelled);
      if (cancelled) throw err;
      throw ApplicationFailure.create({ message: undone, type: FAILURE_TYPES.deploy, nonRetryable: true });
    }
    if (cancelled) {
      await CancellationScope.nonCancellable(() => report({ status: 'cancelled', message: 'cancelled before anything changed' }));
      throw err;
    }
    await report({ status: 'failed', error: reason });
    throw ApplicationFailure.create({ message: reason, type: FAILURE_TYPES.deploy, nonRetryable: true });
  } finally {
    gate.recorded();
    await CancellationScope.nonCancellable(() => condition(allHandlersFinished));
  }
}

/**
 * Restores the rollback point (not cancellable: a cancel is what may have brought us here) and records
 * the outcome on the run. A rollback that fails too ends the run failed, naming both and what to check.
 */
async function rollBack(
  long: ReturnType<typeof proxyActivities<DeployRunActivities>>,
  report: ReturnType<typeof createReporter>['report'],
  input: RolloutInput,
  summary: DeploySummary,
  reason: string,
  cancelled: boolean,
): Promise<string> {
  return CancellationScope.nonCancellable(async () => {
    await report({ step: 'rollback', message: `rolling back: ${reason}` });
    try {
      const back = await long.deployRollback(input);
      const to = imagesText(back.live);
      const text = back.changed ? `${reason}; rolled back to image ${to}` : `${reason}; nothing was switched: ${to} kept serving`;
      const final: DeploySummary = { ...summary, live: back.live, rolledBack: { to: back.live, reason } };
      await report({ status: cancelled ? 'cancelled' : 'failed', step: null, summary: final, ...(cancelled ? { message: text } : { error: text }) });
      return text;
    } catch (err) {
      const text = `${reason}; the rollback failed too: ${failureOf(err)} (check ${summary.target} by hand; it was on ${imagesText(summary.previous)})`;
      await report({ status: 'failed', step: null, error: text, message: text });
      return text;
    }
  });
}
