import { expect, it } from '@jest/globals';
import { Context } from '@temporalio/activity';
import type { PipelineBuild, PipelineParams } from '../../contracts/kinds/pipeline.ts';
import type { RunStatus } from '../../contracts/runs.ts';
import { approveUpdate, stateQuery, type RunInput } from '../../contracts/temporal.ts';
import type { RunBookkeepingActivities } from '../../workflows/blocks/reporter.ts';
import type { PipelineRunActivities } from '../../workflows/pipeline-run.ts';
import { until } from '../fixtures/until.ts';
import { useWorkflowWorker } from '../fixtures/workflow-env.ts';

// The pipelineRun workflow's timeout and approval, with scripted activities: a build that never ends
// by itself must be cancelled in the CI system when the timeout passes, and the run end timed_out only
// after the CI system confirmed (the second follow); with requireApproval nothing is triggered before
// a person approves.
type Recorded = Parameters<RunBookkeepingActivities['recordRunState']>[0];
const recorded = new Map<string, Recorded[]>();
const calls = new Map<string, string[]>();
const build: PipelineBuild = { id: '7', url: 'https://ci.example.test/job/app/7/' };
const note = (runId: string, what: string) => calls.get(runId)!.push(what);

const activities: RunBookkeepingActivities & PipelineRunActivities = {
  async recordRunState(input) {
    recorded.get(input.runId)!.push(input);
  },
  async runHosts() {
    return [];
  },
  async releaseRunFiles() {},
  async pipelineTrigger({ runId }) {
    note(runId, 'trigger');
    return build;
  },
  async pipelineAwaitBuild() {
    return build;
  },
  async pipelineFollow({ runId }) {
    note(runId, 'follow');
    const cancelled = calls.get(runId)!.includes('cancel');
    if (cancelled) return { outcome: 'cancelled', conclusion: 'ABORTED', jobs: [{ name: 'Build', status: 'completed', conclusion: null }] };
    // The build runs on until the run cancels this follow (a cancel reaches an activity through its heartbeat).
    const ctx = Context.current();
    const beat = setInterval(() => ctx.heartbeat(), 100);
    try {
      return await ctx.cancelled;
    } finally {
      clearInterval(beat);
    }
  },
  async pipelineCancel({ runId, build: b }) {
    note(runId, 'cancel');
    return b;
  },
};
const workflows = useWorkflowWorker('pipeline-wf', activities);

async function start(params: Partial<PipelineParams> & { timeoutMinutes: number; requireApproval: boolean }) {
  const runId = crypto.randomUUID();
  recorded.set(runId, []);
  calls.set(runId, []);
  const input: RunInput<PipelineParams> = {
    runId, teamId: 't1', approvalTimeoutMs: 60_000, heartbeatTimeoutMs: 2_000,
    params: { provider: 'jenkins', integration: crypto.randomUUID(), job: 'app', parameters: {}, ...params } as PipelineParams,
  };
  return { runId, handle: await workflows.env.client.workflow.start('pipelineRun', { taskQueue: workflows.taskQueue, workflowId: runId, args: [input] }) };
}

it('the timeout cancels the build, and the run ends timed_out once the CI system confirmed', async () => {
  // 1.2 s: below what the params schema allows, so the test need not wait a minute.
  const { runId, handle } = await start({ timeoutMinutes: 0.02, requireApproval: false });
  await expect(handle.result()).rejects.toThrow();
  expect(calls.get(runId)).toEqual(['trigger', 'follow', 'cancel', 'follow']);
  expect(recorded.get(runId)!.at(-1)).toMatchObject({ status: 'timed_out', error: 'timed out after 0.02 min; the build was cancelled', summary: { url: build.url, conclusion: 'ABORTED' } });
  // The end is recorded once: the failure the workflow then ends with is not recorded again as failed.
  expect(recorded.get(runId)!.filter((r) => r.status === 'failed' || r.status === 'timed_out')).toHaveLength(1);
}, 30_000);

it('with requireApproval nothing is triggered before a person approves', async () => {
  const { runId, handle } = await start({ timeoutMinutes: 60, requireApproval: true });
  await until('the run to wait for approval', async () => ((await handle.query(stateQuery)).status === ('awaiting_approval' as RunStatus) ? true : undefined), 20_000, 25);
  expect(calls.get(runId)).toEqual([]);
  await handle.executeUpdate(approveUpdate, { args: [{ userId: 'u1', email: 'approver@example.test', comment: 'go' }] });
  await until('the build to be followed', async () => (calls.get(runId)!.includes('follow') ? true : undefined), 20_000, 25);
  expect(calls.get(runId)).toEqual(['trigger', 'follow']);
  await handle.cancel();
  await expect(handle.result()).rejects.toThrow();
  expect(calls.get(runId)).toEqual(['trigger', 'follow', 'cancel', 'follow']);
  expect(recorded.get(runId)!.at(-1)).toMatchObject({ status: 'cancelled', summary: { conclusion: 'ABORTED' } });
}, 30_000);
