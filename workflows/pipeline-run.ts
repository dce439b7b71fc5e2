import { ApplicationFailure, CancellationScope, allHandlersFinished, condition, isCancellation, proxyActivities, sleep } from '@temporalio/workflow';
import type { PipelineBuild, PipelineEnd, PipelineParams, PipelineRunInput, PipelineSummary } from '../contracts/kinds/pipeline.ts';
import { pipelineName } from '../contracts/kinds/pipeline-name.ts';
import { FAILURE_TYPES } from '../contracts/temporal.ts';
import { createApprovalGate } from './blocks/approval-gate.ts';
import { createReporter, type Reporter } from './blocks/reporter.ts';
import { recordThrown } from './blocks/run-end.ts';

type StepInput = { runId: string; teamId: string; params: PipelineParams };

/** The activities this workflow calls (activities/pipeline/), as it sees them. */
export type PipelineRunActivities = {
  /** Null while the build waits in Jenkins' queue. */
  pipelineTrigger(input: StepInput): Promise<PipelineBuild | null>;
  /** Null when the queue item was cancelled before it became a build. */
  pipelineAwaitBuild(input: StepInput): Promise<PipelineBuild | null>;
  pipelineFollow(input: StepInput & { build: PipelineBuild }): Promise<PipelineEnd>;
  /** The build to follow to its end once cancelled; null when none ever started. */
  pipelineCancel(input: StepInput & { build: PipelineBuild | null }): Promise<PipelineBuild | null>;
};

const TIMED_OUT: unique symbol = Symbol('timed out');

/**
 * approval when asked → trigger (once: activities/pipeline/ records it in PostgreSQL before the
 * call and finds an earlier one on a retry) → follow to the end → the CI system's outcome. A cancel or
 * the timeout cancels the build and waits until the CI system says it ended (docs/pipeline.md).
 */
export async function pipelineRun(input: PipelineRunInput): Promise<void> {
  const { runId, teamId, params } = input;
  const heartbeatTimeout = input.heartbeatTimeoutMs ?? 30_000;
  const timeoutMs = params.timeoutMinutes * 60_000;
  const acts = proxyActivities<PipelineRunActivities>({
    startToCloseTimeout: timeoutMs + 30 * 60_000,
    heartbeatTimeout,
    // A cancelled follow stops storing lines before the one that drains the build's end starts.
    cancellationType: 'WAIT_CANCELLATION_COMPLETED',
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 20, nonRetryableErrorTypes: [FAILURE_TYPES.pipeline] },
  });
  const reporter = createReporter(runId);
  const { report } = reporter;
  const gate = createApprovalGate(reporter);
  const step = { runId, teamId, params };
  let summary: PipelineSummary = { provider: params.provider, pipeline: pipelineName(params) };
  let build: PipelineBuild | null = null;
  let triggered = false;
  // Set once the run's end is on record: the failure thrown after it must not be recorded again.
  let ended = false;
  const end = async (change: Parameters<typeof finish>) => {
    ended = true;
    await finish(...change);
  };

  try {
    if (params.requireApproval && !input.autoApprove) {
      const decided = await gate.decide({ summary, timeoutMs: input.approvalTimeoutMs, next: 'trigger' });
      if (decided !== 'approved') return;
    } else {
      await report({ status: 'running', step: 'trigger', summary });
    }
    // Not cancellable: a trigger under way finishes and is recorded, and a cancel then cancels what it made.
    build = await CancellationScope.nonCancellable(() => acts.pipelineTrigger(step));
    triggered = true;
    const following = new CancellationScope();
    const followed = following.run(async () => {
      if (!build) {
        // Jenkins: the wait in its queue can be cancelled, and counts toward the timeout.
        await report({ step: 'queued', summary, message: 'waiting in the Jenkins queue' });
        build = await acts.pipelineAwaitBuild(step);
        if (!build) throw ApplicationFailure.create({ message: `${summary.pipeline}: the queue item was cancelled in Jenkins before it became a build`, type: FAILURE_TYPES.pipeline, nonRetryable: true });
      }
      summary = { ...summary, build: build.id, url: build.url };
      await report({ step: 'follow', summary, message: `following ${build.url}` });
      return acts.pipelineFollow({ ...step, build });
    });
    const deadline = sleep(timeoutMs).then((): typeof TIMED_OUT => TIMED_OUT);
    // A cancel rejects the timer too; the follow's rejection is the one acted on.
    deadline.catch(() => undefined);
    const first = await Promise.race([followed, deadline]);
    if (first === TIMED_OUT) {
      following.cancel();
      await followed.catch(() => undefined);
      const settled = await settle(acts, step, build);
      summary = { ...summary, ...settled.seen, conclusion: settled.conclusion, jobs: settled.jobs };
      await end([report, summary, settled, `timed out after ${params.timeoutMinutes} min; the build was cancelled`]);
      return;
    }
    await end([report, { ...summary, conclusion: first.conclusion, jobs: first.jobs }, first]);
  } catch (err) {
    if (ended) throw err;
    if (isCancellation(err) && triggered) {
      // Cancelled in the CI system, and only then recorded: the run ends as the CI system confirms.
      const settled = await settle(acts, step, build);
      summary = { ...summary, ...settled.seen, conclusion: settled.conclusion, jobs: settled.jobs };
      if (settled.outcome !== 'cancelled') {
        await end([report, summary, settled, undefined, 'the build ended before the cancel reached it']);
        return;
      }
      await CancellationScope.nonCancellable(() => report({ status: 'cancelled', step: null, summary, message: `cancelled; ${build?.url ?? 'the build'} was cancelled` }));
      throw err;
    }
    await recordThrown(err, report, FAILURE_TYPES.pipeline, { summary });
  } finally {
    gate.recorded();
    await CancellationScope.nonCancellable(() => condition(allHandlersFinished));
  }
}

/**
 * Cancels the build (or its queue item) and follows it to the end the CI system confirms, whatever
 * cancels the run meanwhile. `seen`: the build, when the workflow learns of it only here.
 */
async function settle(acts: PipelineRunActivities, step: StepInput, known: PipelineBuild | null): Promise<PipelineEnd & { seen: Partial<PipelineSummary> }> {
  return CancellationScope.nonCancellable(async () => {
    const build = await acts.pipelineCancel({ ...step, build: known });
    if (!build) return { outcome: 'cancelled', conclusion: 'cancelled in the queue', jobs: [], seen: {} };
    return { ...(await acts.pipelineFollow({ ...step, build })), seen: { build: build.id, url: build.url } };
  });
}

/** Records the outcome; a run that did not succeed fails in Temporal too. */
async function finish(report: Reporter['report'], summary: PipelineSummary, end: PipelineEnd, timedOut?: string, note?: string): Promise<void> {
  const record = (change: Parameters<Reporter['report']>[0]) => CancellationScope.nonCancellable(() => report(change));
  if (timedOut) {
    await record({ status: 'timed_out', step: null, summary, error: timedOut });
    throw ApplicationFailure.create({ message: timedOut, type: FAILURE_TYPES.pipeline, nonRetryable: true });
  }
  if (end.outcome === 'succeeded') {
    await record({ status: 'succeeded', step: null, summary, message: `${summary.url}: ${end.conclusion}${note ? ` (${note})` : ''}` });
    return;
  }
  const why =
    end.outcome === 'cancelled'
      ? `the build was cancelled outside OpsSight (${end.conclusion})`
      : `the build ended ${end.conclusion}${end.failedAt ? ` at ${end.failedAt}` : ''}`;
  const message = `${summary.url}: ${why}`;
  await record({ status: 'failed', step: null, summary, error: message });
  throw ApplicationFailure.create({ message, type: FAILURE_TYPES.pipeline, nonRetryable: true });
}
