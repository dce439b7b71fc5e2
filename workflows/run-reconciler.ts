import { proxyActivities } from '@temporalio/workflow';

/** The activity contract this workflow relies on (checked against createActivities in workers/runtime.ts). */
export type RunReconcilerActivities = {
  reconcileRuns(input: { olderThanMs: number; limit: number }): Promise<{ checked: number; repaired: Array<{ runId: string; status: string }> }>;
};

const { reconcileRuns } = proxyActivities<RunReconcilerActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { maximumAttempts: 3 },
});

export type RunReconcilerInput = { olderThanMs: number; limit: number };

/** One sweep; a Temporal Schedule starts it periodically (created at worker start). */
export async function runReconciler(input: RunReconcilerInput): Promise<{ checked: number; repaired: number }> {
  const result = await reconcileRuns(input);
  return { checked: result.checked, repaired: result.repaired.length };
}
