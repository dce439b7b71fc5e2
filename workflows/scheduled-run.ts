import { ChildWorkflowCancellationType, ParentClosePolicy, proxyActivities, startChild, workflowInfo } from '@temporalio/workflow';
import type { ScheduledRunInput, ScheduledRunResult, ScheduleFireActivities } from '../contracts/schedules.ts';

const acts = proxyActivities<ScheduleFireActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 20 },
});

/**
 * What a Temporal Schedule fires: records the run as its author would start it, then runs the kind's
 * workflow as a child and lasts as long as it does — so the schedule's overlap policy (skip, buffer,
 * cancel other) applies to runs, and cancelling this fire asks the run to cancel (never terminates it).
 */
export async function scheduledRun(input: ScheduledRunInput): Promise<ScheduledRunResult> {
  const fire = await acts.prepareScheduledRun({ scheduleId: input.scheduleId, fireId: workflowInfo().workflowId });
  if (fire.outcome === 'skipped') return fire;
  let child;
  try {
    child = await startChild(fire.workflowType, {
      workflowId: fire.runId,
      taskQueue: fire.taskQueue,
      args: [fire.input],
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
      cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
    });
  } catch (err) {
    await acts.failUnstartedRun({ runId: fire.runId });
    throw err;
  }
  // How the run ended is on its own record; a failed run is not a failed fire.
  await child.result().catch(() => undefined);
  return { outcome: 'started', runId: fire.runId };
}
