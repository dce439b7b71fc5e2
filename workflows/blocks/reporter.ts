import { patched, proxyActivities, proxyLocalActivities, setHandler } from '@temporalio/workflow';
import type { RunStatus } from '../../contracts/runs.ts';
import { stateQuery, type RecordRunStateInput } from '../../contracts/temporal.ts';

/** The bookkeeping every kind of run uses: its row and events, and where its files lie. */
export type RunBookkeepingActivities = {
  recordRunState(input: RecordRunStateInput): Promise<void>;
  runHosts(input: { runId: string }): Promise<string[]>;
  releaseRunFiles(input: { runId: string }): Promise<void>;
};

export const bookkeeping = proxyActivities<RunBookkeepingActivities>({
  startToCloseTimeout: '30 seconds',
  // A database outage must delay the record, never drop it: retried until PostgreSQL answers.
  retry: { initialInterval: '500 ms', maximumInterval: '10 seconds' },
});

// The same record as a local activity: made by the worker running the workflow, without a round trip
// through a task queue. Every state change of every run is on its critical path (a deploy's start →
// switched measured 691 ms with three such round trips). Retried the same way, until PostgreSQL answers.
const localBookkeeping = proxyLocalActivities<Pick<RunBookkeepingActivities, 'recordRunState'>>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 ms', maximumInterval: '10 seconds' },
});

export type RunState = { status: RunStatus; step: string | null };

/**
 * The run's status and step as the workflow knows them (answered by the `state` query), kept in step
 * with the Run row: every change goes through recordRunState, which also emits the events.
 */
export function createReporter(runId: string) {
  const state: RunState = { status: 'queued', step: null };
  setHandler(stateQuery, () => ({ ...state }));
  // The query answers what the row says: the state changes once the record is made, so nobody who
  // saw `awaiting_approval` here can find the row (or the API's approve) still a step behind.
  async function report(change: Omit<RecordRunStateInput, 'runId'>): Promise<void> {
    // Runs that started before the local record replay their recorded (task queue) activities.
    if (patched('run-state-local')) await localBookkeeping.recordRunState({ runId, ...change });
    else await bookkeeping.recordRunState({ runId, ...change });
    if (change.status) state.status = change.status;
    if (change.step !== undefined) state.step = change.step;
  }
  return { state, report };
}
export type Reporter = ReturnType<typeof createReporter>;
