import type { Client } from '@temporalio/client';
import { CancelledFailure, TerminatedFailure, TimeoutFailure, WorkflowNotFoundError } from '@temporalio/common';
import { isTerminal, runStatusSchema, type RunStatus } from '../contracts/runs.ts';
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

/** What the workflow's end means for the row; Temporal history is the truth. */
async function outcomeOf(temporal: Client, runId: string): Promise<Outcome | null> {
  let description;
  try {
    description = await temporal.workflow.getHandle(runId).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return { status: 'failed', error: 'the run\'s workflow was never started', key: `reconcile:${runId}:missing` };
    throw err;
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
        const outcome = await outcomeOf(deps.temporal, run.id);
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
