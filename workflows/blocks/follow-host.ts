import { ActivityFailure, ApplicationFailure, proxyActivities, TimeoutFailure, type ActivityInterfaceFor, type ActivityOptions } from '@temporalio/workflow';
import { FAILURE_TYPES, hostTaskQueue } from '../../contracts/temporal.ts';

type Activities = Record<string, (...args: never[]) => Promise<unknown>>;

function hostOf(err: unknown): string | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : undefined;
  if (!(cause instanceof ApplicationFailure) || cause.type !== FAILURE_TYPES.processOnHost) return undefined;
  return (cause.details?.[0] as { hostId?: string } | undefined)?.hostId;
}

const notPickedUp = (err: unknown) =>
  err instanceof ActivityFailure && err.cause instanceof TimeoutFailure && err.cause.timeoutType === 'SCHEDULE_TO_START';

/**
 * Calls a step that runs a process which outlives its worker. When the step answers that its process
 * runs on another host, the call is repeated on that host's own queue, where a worker can follow the
 * process's output on disk. If no worker there picks it up in time, the host is taken as gone and the
 * step is called once more with `hostGone`, to decide from the external system's own record.
 */
export async function onProcessHost<A extends Activities, I extends { hostGone?: string }, R>(
  options: ActivityOptions & { taskQueue: string; hostWaitMs: number },
  call: (activities: ActivityInterfaceFor<A>, input: I) => Promise<R>,
  input: I,
): Promise<R> {
  const { hostWaitMs, ...shared } = options;
  try {
    return await call(proxyActivities<A>(shared), input);
  } catch (err) {
    const hostId = hostOf(err);
    if (!hostId) throw err;
    const onHost = proxyActivities<A>({ ...shared, taskQueue: hostTaskQueue(options.taskQueue, hostId), scheduleToStartTimeout: hostWaitMs });
    try {
      return await call(onHost, input);
    } catch (err2) {
      if (!notPickedUp(err2)) throw err2;
      return call(proxyActivities<A>(shared), { ...input, hostGone: hostId });
    }
  }
}
