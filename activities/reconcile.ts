import type { Client } from '@temporalio/client';
import { CancelledFailure, TerminatedFailure, TimeoutFailure, WorkflowNotFoundError } from '@temporalio/common';
import { isTerminal, runStatusSchema, type RunStatus } from '../contracts/runs.ts';
import { runIdOfFire, temporalScheduleId } from '../core/schedule-fires.ts';
import type { Run } from '../db/entities/index.ts';
import { findActiveRuns } from '../db/repositories/runs.ts';
import { applyRunState, type RunStateDeps } from './run-state.ts';

export type ReconcileDeps = RunStateDeps & { temporal: Client };
export type ReconcileInput = { olderThanMs: number; limit: number };
export type ReconcileResult = { checked: number; repaired: Array<{ runId: string; status: RunStatus }> };

type Outcome = { status: RunStatus; error: string | null; key: string };

function causeMessage(err: unknown): string {
  const cause = (err as { cause?: Error }).cause;
  return (cause ?? (err as Error)).message ?? String(err);
}

/**
 * Whether a schedule's fire that recorded this run is still running: it starts the run's workflow as
 * its child once its worker gets to it, however long that takes (workers backed up, or all down).
 */
async function fireStillLaunching(temporal: Client, run: Pick<Run, 'id' | 'requester'>): Promise<boolean> {
  if (run.requester.type !== 'schedule') return false;
  const schedule = await temporal.schedule.getHandle(temporalScheduleId(run.requester.id)).describe().catch(() => null);
  // The schedule's recent actions name its fires (runningActions is not kept for every overlap policy).
  const actions = [...(schedule?.info.runningActions ?? []), ...(schedule?.info.recentActions.map((a) => a.action) ?? [])];
  const fire = actions.find((a) => runIdOfFire(a.workflow.workflowId) === run.id)?.workflow.workflowId;
  if (!fire) return false;
  const described = await temporal.workflow.getHandle(fire).describe().catch(() => null);
  return described?.status.name === 'RUNNING';
}

/** What the workflow's end means for the row; Temporal history is the truth. */
async function outcomeOf(temporal: Client, run: Pick<Run, 'id' | 'requester'>): Promise<Outcome | null> {
  const runId = run.id;
  let description;
  try {
    description = await temporal.workflow.getHandle(runId).describe();
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
    if (await fireStillLaunching(temporal, run)) return null;
    return { status: 'failed', error: 'the run\'s workflow was never started', key: `reconcile:${runId}:missing` };
  }
  const { name } = description.status;
  if (name === 'RUNNING' || name === 'CONTINUED_AS_NEW' || name === 'PAUSED' || name === 'UNSPECIFIED' || name === 'UNKNOWN') return null;
  const key = `reconcile:${description.runId}`;
  try {
    const result = (await temporal.workflow.getHandle(runId, description.runId).result()) as { status?: unknown } | undefined;
    const parsed = runStatusSchema.safeParse(result?.status);
    const status = parsed.success && isTerminal(parsed.data) ? parsed.data : 'succeeded';
    return { status, error: null, key };
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause;
    if (cause instanceof CancelledFailure) return { status: 'cancelled', error: null, key };
    if (cause instanceof TimeoutFailure) return { status: 'timed_out', error: 'workflow execution timed out', key };
    if (cause instanceof TerminatedFailure) return { status: 'failed', error: `workflow terminated: ${cause.message}`, key };
    return { status: 'failed', error: causeMessage(err), key };
  }
}

export function createReconcileActivities(deps: ReconcileDeps) {
  return {
    /** Repairs rows that still say active although their workflow ended without telling them. */
    async reconcileRuns(input: ReconcileInput): Promise<ReconcileResult> {
      const runs = await findActiveRuns(deps.em.fork(), new Date(Date.now() - input.olderThanMs), input.limit);
      const repaired: ReconcileResult['repaired'] = [];
      for (const run of runs) {
        const outcome = await outcomeOf(deps.temporal, run);
        if (!outcome) continue;
        await applyRunState(
          deps,
          { runId: run.id, status: outcome.status, error: outcome.error, message: `${outcome.status} (repaired by the reconciler)` },
          outcome.key,
        );
        deps.logger.info({ runId: run.id, status: outcome.status }, 'reconciled run state');
        repaired.push({ runId: run.id, status: outcome.status });
      }
      return { checked: runs.length, repaired };
    },
  };
}
