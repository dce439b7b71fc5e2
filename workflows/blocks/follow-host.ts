import { ActivityFailure, ApplicationFailure, CancellationScope, patched, proxyActivities, TimeoutFailure, workflowInfo, type ActivityInterfaceFor, type ActivityOptions } from '@temporalio/workflow';
import { FAILURE_TYPES, hostTaskQueue } from '../../contracts/temporal.ts';

type Activities = Record<string, (...args: never[]) => Promise<unknown>>;

function hostOf(err: unknown): string | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : undefined;
  if (!(cause instanceof ApplicationFailure) || cause.type !== FAILURE_TYPES.processOnHost) return undefined;
  return (cause.details?.[0] as { hostId?: string } | undefined)?.hostId;
}

const notPickedUp = (err: unknown) =>
  err instanceof ActivityFailure && err.cause instanceof TimeoutFailure && err.cause.timeoutType === 'SCHEDULE_TO_START';

export type ProcessStepOptions = ActivityOptions & { taskQueue: string; hostWaitMs: number };

/**
 * Options for steps that run a process through the crash-safe runner: heartbeats at the run's
 * timeout; a cancel waits until the process is seen to stop (so a tool can release its locks before
 * the run reports cancelled); retries with backoff; and a host whose workers stay silent for three
 * heartbeat timeouts is taken as gone.
 */
export function processStepOptions(heartbeatTimeoutMs: number | undefined, startToCloseTimeout: ActivityOptions['startToCloseTimeout']): ProcessStepOptions {
  const heartbeatTimeout = heartbeatTimeoutMs ?? 30_000;
  return {
    taskQueue: workflowInfo().taskQueue,
    startToCloseTimeout,
    heartbeatTimeout,
    cancellationType: 'WAIT_CANCELLATION_COMPLETED',
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10 },
    hostWaitMs: Math.max(3 * heartbeatTimeout, 5_000),
  };
}

/**
 * Calls a step that runs a process which outlives its worker. When the step answers that its process
 * runs on another host, the call is repeated on that host's own queue, where a worker can follow the
 * process's output on disk. If no worker there picks it up in time, the host is taken as gone and the
 * step is called once more with `hostGone`, to decide from the external system's own record.
 */
export async function onProcessHost<A extends Activities, I extends { hostGone?: string }, R>(
  options: ProcessStepOptions,
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

/**
 * onProcessHost for a step whose process has side effects. A cancel that finds no attempt following the
 * process (between retries, or while the next attempt waits for the launch's host) ends the step at
 * once, while the process may still be changing things: `stop` is then called the same way, not
 * cancellable, so it is stopped on its host before the cancel goes on. Runs that began before `patch`
 * replay without the stop.
 */
export async function onProcessHostStoppable<A extends Activities, I extends { hostGone?: string }, R>(
  options: ProcessStepOptions,
  call: (activities: ActivityInterfaceFor<A>, input: I) => Promise<R>,
  stop: (activities: ActivityInterfaceFor<A>, input: I) => Promise<unknown>,
  input: I,
  patch: string,
): Promise<R> {
  try {
    return await onProcessHost(options, call, input);
  } catch (err) {
    if (CancellationScope.current().consideredCancelled && patched(patch)) {
      await CancellationScope.nonCancellable(() => onProcessHost(options, stop, input).catch(() => undefined));
    }
    throw err;
  }
}
