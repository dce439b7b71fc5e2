import { createHash } from 'node:crypto';
import type { OverlapPolicy, ScheduleSpecInput } from '../contracts/schedules.ts';
import type { TaskQueue } from '../contracts/temporal.ts';

/** The Temporal Schedule of OpsSight schedule `id`, and the id prefix of the launcher workflows it fires. */
export const temporalScheduleId = (id: string) => `schedule-${id}`;
export const fireWorkflowIdPrefix = (id: string) => `schedule-${id}-fire`;
export const SCHEDULED_RUN_WORKFLOW = 'scheduledRun';

/**
 * The run id of one fire, derived from the launcher's workflow id (Temporal appends the scheduled
 * time): a retried start of the same fire finds its run instead of starting a second, and the API
 * can tell which run a fire started without asking the workflow.
 */
export function runIdOfFire(fireWorkflowId: string): string {
  const h = createHash('sha256').update(`opssight-schedule-fire:${fireWorkflowId}`).digest('hex');
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const OVERLAP: Record<OverlapPolicy, 'SKIP' | 'BUFFER_ONE' | 'BUFFER_ALL' | 'CANCEL_OTHER' | 'ALLOW_ALL'> = {
  skip: 'SKIP',
  'buffer-one': 'BUFFER_ONE',
  'buffer-all': 'BUFFER_ALL',
  'cancel-other': 'CANCEL_OTHER',
  'allow-all': 'ALLOW_ALL',
};

/** The Temporal Schedule that fires OpsSight schedule `s`: its spec, policies and launcher action. */
export function temporalScheduleOf(s: { id: string; spec: ScheduleSpecInput; overlap: OverlapPolicy; catchupWindowSeconds: number; taskQueue: TaskQueue }) {
  const { spec } = s;
  return {
    spec: {
      ...(spec.cron ? { cronExpressions: spec.cron } : {}),
      ...(spec.everySeconds ? { intervals: [{ every: `${spec.everySeconds}s` as const, offset: `${(spec.offsetSeconds ?? 0) % spec.everySeconds}s` as const }] } : {}),
      timezone: spec.timezone,
      ...(spec.jitterSeconds ? { jitter: `${spec.jitterSeconds}s` as const } : {}),
    },
    action: {
      type: 'startWorkflow' as const,
      workflowType: SCHEDULED_RUN_WORKFLOW,
      taskQueue: s.taskQueue,
      workflowId: fireWorkflowIdPrefix(s.id),
      args: [{ scheduleId: s.id }],
    },
    policies: { overlap: OVERLAP[s.overlap], catchupWindow: `${s.catchupWindowSeconds}s` as const },
  };
}
