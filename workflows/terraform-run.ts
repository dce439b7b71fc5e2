import {
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  proxyActivities,
  setHandler,
} from '@temporalio/workflow';
import type { TerraformParams, TerraformPlanResult } from '../contracts/kinds/terraform.ts';
import type { Approval, PlanSummary, RunStatus } from '../contracts/runs.ts';
import {
  approveUpdate,
  FAILURE_TYPES,
  rejectUpdate,
  stateQuery,
  type DecisionInput,
  type RecordRunStateInput,
  type TerraformRunInput,
} from '../contracts/temporal.ts';

/**
 * The activities this workflow calls, as it sees them. workers/runtime.ts checks that what
 * createActivities builds satisfies this, so the two cannot drift apart.
 */
export type TerraformRunActivities = {
  recordRunState(input: RecordRunStateInput): Promise<void>;
  terraformPlan(input: { runId: string; params: TerraformParams }): Promise<TerraformPlanResult>;
  terraformApply(input: { runId: string; params: TerraformParams; planId: string }): Promise<{ applied: true }>;
  terraformDiscardPlans(input: { runId: string }): Promise<number>;
};

export type TerraformRunResult = { status: Extract<RunStatus, 'succeeded' | 'discarded' | 'timed_out'>; summary: PlanSummary | null };

/** A busy state can make every fresh plan stale again; past this many rounds a human should look. */
const MAX_PLAN_ROUNDS = 5;

const bookkeeping = proxyActivities<TerraformRunActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 ms', maximumInterval: '10 seconds' },
});

function terraformActivities(heartbeatTimeoutMs: number) {
  return proxyActivities<TerraformRunActivities>({
    startToCloseTimeout: '2 hours',
    heartbeatTimeout: heartbeatTimeoutMs,
    // Cancellation must reach terraform and let it release the state lock before the run reports cancelled.
    cancellationType: 'WAIT_CANCELLATION_COMPLETED',
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10 },
  });
}

function failureOf(err: unknown): { message: string; type: string } {
  const cause = (err as { cause?: unknown }).cause;
  const source = cause instanceof ApplicationFailure ? cause : err;
  const type = source instanceof ApplicationFailure && source.type ? source.type : FAILURE_TYPES.terraform;
  return { message: (source as Error).message || String(err), type };
}

const isStalePlan = (err: unknown) => {
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof ApplicationFailure && cause.type === FAILURE_TYPES.stalePlan;
};

/**
 * init + plan → (no changes: done) → approval unless autoApply → apply the saved plan → done.
 * A stale plan (state changed between plan and apply, e.g. after a worker crash) goes back to plan.
 * Rejection ends the run as `discarded`: the proposed change was not applied, by a person's choice,
 * which is neither a success nor a failure. The decision is kept in `approval`.
 */
export async function terraformRun(input: TerraformRunInput): Promise<TerraformRunResult> {
  const { runId, params } = input;
  const terraform = terraformActivities(input.heartbeatTimeoutMs ?? 30_000);
  const state: { status: RunStatus; step: string | null } = { status: 'queued', step: null };
  let decision: Approval | undefined;
  let decisionRecorded = false;

  setHandler(stateQuery, () => ({ ...state }));
  const validator = (d: DecisionInput) => {
    if (state.status !== 'awaiting_approval' || decision) throw new Error(`run is ${state.status}, not awaiting approval`);
    if (!d?.userId || !d?.email) throw new Error('a decision needs the deciding user');
  };
  const decide = (kind: Approval['decision']) => async (d: DecisionInput) => {
    decision = { decision: kind, by: d.userId, byEmail: d.email, comment: d.comment ?? '', at: new Date().toISOString() };
    // Answer once the decision is on the run row, so the caller reads back what it did.
    await condition(() => decisionRecorded);
    return { status: state.status };
  };
  setHandler(approveUpdate, decide('approved'), { validator });
  setHandler(rejectUpdate, decide('rejected'), { validator });

  const report = async (change: Omit<Parameters<TerraformRunActivities['recordRunState']>[0], 'runId'>) => {
    if (change.status) state.status = change.status;
    if (change.step !== undefined) state.step = change.step;
    await bookkeeping.recordRunState({ runId, ...change });
  };

  try {
    await report({ status: 'running', step: 'plan' });
    for (let round = 1; ; round++) {
      const plan = await terraform.terraformPlan({ runId, params });
      const summary = plan.summary;
      if (!plan.hasChanges) {
        await report({ status: 'succeeded', step: null, summary, message: 'no changes: nothing to apply' });
        return { status: 'succeeded', summary };
      }
      if (params.autoApply) {
        await report({ step: 'apply', summary });
      } else {
        decision = undefined;
        decisionRecorded = false;
        await report({ status: 'awaiting_approval', step: 'approval', summary });
        if (!(await condition(() => decision !== undefined, input.approvalTimeoutMs))) {
          await report({ status: 'timed_out', error: `no decision within ${Math.round(input.approvalTimeoutMs / 1000)}s` });
          return { status: 'timed_out', summary };
        }
        const d = decision!;
        if (d.decision === 'rejected') {
          await report({ approval: d, status: 'discarded', step: null, summary });
          decisionRecorded = true;
          return { status: 'discarded', summary };
        }
        await report({ approval: d, status: 'running', step: 'apply' });
        decisionRecorded = true;
      }
      try {
        await terraform.terraformApply({ runId, params, planId: plan.planId });
      } catch (err) {
        if (!isStalePlan(err) || round >= MAX_PLAN_ROUNDS) throw err;
        await report({ status: 'running', step: 'plan', message: 'the saved plan is stale (the state changed after it was made): planning again' });
        continue;
      }
      await report({ status: 'succeeded', step: null, summary });
      return { status: 'succeeded', summary };
    }
  } catch (err) {
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(() => report({ status: 'cancelled', message: 'cancelled' }));
      throw err;
    }
    const { message, type } = failureOf(err);
    await report({ status: 'failed', error: message });
    throw ApplicationFailure.create({ message, type, nonRetryable: true });
  } finally {
    // An update handler still waiting for its decision to be recorded must not hold the run open.
    decisionRecorded = true;
    await CancellationScope.nonCancellable(async () => {
      // Saved plans hold variable values; none is needed once the run is over.
      await bookkeeping.terraformDiscardPlans({ runId }).catch(() => 0);
      await condition(allHandlersFinished);
    });
  }
}
