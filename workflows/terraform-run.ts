import { allHandlersFinished, ApplicationFailure, CancellationScope, condition, proxyActivities } from '@temporalio/workflow';
import type { TerraformParams, TerraformPlanResult } from '../contracts/kinds/terraform.ts';
import type { PlanSummary, RunStatus } from '../contracts/runs.ts';
import { FAILURE_TYPES, applyStepOf, type TerraformRunInput } from '../contracts/temporal.ts';
import { createApprovalGate } from './blocks/approval-gate.ts';
import { onProcessHostStoppable, processStepOptions } from './blocks/follow-host.ts';
import { createReporter, type RunBookkeepingActivities } from './blocks/reporter.ts';
import { failureOf, recordThrown } from './blocks/run-end.ts';
import { releaseRunFiles } from './blocks/run-files.ts';

type StepInput = { runId: string; teamId: string; params: TerraformParams; step: string };

/**
 * The activities this workflow calls, as it sees them. workers/runtime.ts checks that what
 * createActivities builds satisfies this, so the two cannot drift apart.
 */
export type TerraformRunActivities = RunBookkeepingActivities & {
  terraformPlan(input: StepInput): Promise<TerraformPlanResult>;
  terraformApply(input: StepInput & { planId: string; hostGone?: string }): Promise<{ applied: true }>;
  terraformStopApply(input: StepInput & { planId: string; hostGone?: string }): Promise<{ running: boolean }>;
  terraformDiscardPlans(input: { runId: string }): Promise<number>;
};

export type TerraformRunResult = { status: Extract<RunStatus, 'succeeded' | 'discarded' | 'timed_out'>; summary: PlanSummary | null };

const quick = proxyActivities<TerraformRunActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 ms', maximumInterval: '10 seconds' },
});

/** A busy state can make every fresh plan stale again; past this many rounds a human should look. */
const MAX_PLAN_ROUNDS = 5;


const isStalePlan = (err: unknown) => {
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof ApplicationFailure && cause.type === FAILURE_TYPES.stalePlan;
};

/**
 * init + plan → (no changes: done) → approval, unless the API verified an auto-apply → apply the saved
 * plan → done. A stale plan (the state changed under it, e.g. an interrupted apply saved part of its
 * work) goes back to plan, and a plan with changes asks again. Rejection ends the run `discarded`.
 */
export async function terraformRun(input: TerraformRunInput): Promise<TerraformRunResult> {
  const { runId, teamId, params } = input;
  const terraform = processStepOptions(input.heartbeatTimeoutMs, '2 hours');
  const plan = proxyActivities<TerraformRunActivities>(terraform);
  const reporter = createReporter(runId);
  const { report } = reporter;
  const gate = createApprovalGate(reporter);

  try {
    await report({ status: 'running', step: 'plan' });
    for (let round = 1; ; round++) {
      const planned = await plan.terraformPlan({ runId, teamId, params, step: `plan-${round}` });
      const summary = planned.summary;
      if (!planned.hasChanges) {
        await report({ status: 'succeeded', step: null, summary, message: 'no changes: nothing to apply' });
        return { status: 'succeeded', summary };
      }
      if (input.autoApprove) {
        await report({ step: 'apply', summary, approval: gate.automatic(input.autoApprove) });
      } else {
        const decided = await gate.decide({ summary, timeoutMs: input.approvalTimeoutMs, next: 'apply' });
        if (decided !== 'approved') return { status: decided, summary };
      }
      const applyStep = { runId, teamId, params, step: applyStepOf(planned.planId), planId: planned.planId };
      try {
        await onProcessHostStoppable<TerraformRunActivities, typeof applyStep & { hostGone?: string }, { applied: true }>(
          terraform,
          (a, i) => a.terraformApply(i),
          (a, i) => a.terraformStopApply(i),
          applyStep,
          'terraform-stop-on-cancel',
        );
      } catch (err) {
        if (!isStalePlan(err) || round >= MAX_PLAN_ROUNDS) throw err;
        await report({ status: 'running', step: 'plan', message: `planning again: ${failureOf(err, FAILURE_TYPES.terraform).message}` });
        continue;
      }
      await report({ status: 'succeeded', step: null, summary });
      return { status: 'succeeded', summary };
    }
  } catch (err) {
    return await recordThrown(err, report, FAILURE_TYPES.terraform);
  } finally {
    // An Update still waiting for its decision to be recorded must not hold the run open.
    gate.recorded();
    await CancellationScope.nonCancellable(async () => {
      // Saved plans hold variable values; none is needed once the run is over.
      await quick.terraformDiscardPlans({ runId }).catch(() => 0);
      await condition(allHandlersFinished);
    });
    await releaseRunFiles(runId);
  }
}
