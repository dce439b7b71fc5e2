import { describe, expect, it } from '@jest/globals';
import { Context } from '@temporalio/activity';
import { WorkflowFailedError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import type { TerraformPlanResult } from '../../contracts/kinds/terraform.ts';
import type { RunStatus } from '../../contracts/runs.ts';
import { approveUpdate, decisionSignal, FAILURE_TYPES, hostTaskQueue, rejectUpdate, stateQuery, type TerraformRunInput } from '../../contracts/temporal.ts';
import type { TerraformRunActivities } from '../../workflows/terraform-run.ts';
import { answeringRetries, useWorkflowWorker } from '../fixtures/workflow-env.ts';
import { until } from '../fixtures/until.ts';

// Workflow logic in isolation: the real workflow code on the Temporal dev server, activities replaced by
// scripts per run. Activities themselves are tested against real terraform in test/activities.
type Recorded = Parameters<TerraformRunActivities['recordRunState']>[0];
type ApplyInput = Parameters<TerraformRunActivities['terraformApply']>[0];
type Script = {
  plans: Array<TerraformPlanResult | Error>;
  apply?: (attempt: number, input: ApplyInput) => Promise<{ applied: true }>;
  applyInputs?: ApplyInput[];
  recorded: Recorded[];
  planCalls: number;
  applyCalls: number;
  stopInputs?: ApplyInput[];
  cancelledActivity?: boolean;
};
const scripts = new Map<string, Script>();
const changes = (n = 1): TerraformPlanResult => ({ hasChanges: true, summary: { add: n, change: 0, destroy: 0 }, planId: crypto.randomUUID() });

/** A plan that runs (heartbeating) until it is cancelled. */
async function blockUntilCancelled(script: Script): Promise<never> {
  try {
    for (;;) {
      Context.current().heartbeat();
      await Context.current().sleep(50);
    }
  } catch (err) {
    if (err instanceof CancelledFailure) script.cancelledActivity = true;
    throw err;
  }
}
const BLOCK = new Error('block');

const activities: TerraformRunActivities = {
  async recordRunState(input) {
    scripts.get(input.runId)!.recorded.push(input);
  },
  async terraformPlan({ runId }) {
    const s = scripts.get(runId)!;
    const next = s.plans[Math.min(s.planCalls++, s.plans.length - 1)]!;
    if (next === BLOCK) return blockUntilCancelled(s);
    if (next instanceof Error) throw next;
    return next;
  },
  async terraformApply(input) {
    const s = scripts.get(input.runId)!;
    s.applyCalls++;
    (s.applyInputs ??= []).push(input);
    return s.apply ? s.apply(s.applyCalls, input) : { applied: true };
  },
  async terraformStopApply(input) {
    (scripts.get(input.runId)!.stopInputs ??= []).push(input);
    // The launch is on a host with no worker, as in the apply script of the test that cancels.
    if (!input.hostGone) throw ApplicationFailure.create({ message: 'on h-down', type: FAILURE_TYPES.processOnHost, nonRetryable: true, details: [{ hostId: 'h-down' }] });
    return { running: true };
  },
  async terraformDiscardPlans() {
    return 0;
  },
  async runHosts() {
    return [];
  },
  async releaseRunFiles() {},
};

const workflows = useWorkflowWorker('wf-test', activities);
const taskQueue = workflows.taskQueue;


async function start(script: Partial<Script>, input: Partial<TerraformRunInput> = {}) {
  const runId = crypto.randomUUID();
  const s: Script = { plans: [changes()], recorded: [], planCalls: 0, applyCalls: 0, ...script };
  scripts.set(runId, s);
  const params = { workspace: 'w', files: { 'main.tf': '' }, variables: {}, autoApply: false };
  const handle = await workflows.env.client.workflow.start('terraformRun', {
    taskQueue,
    workflowId: runId,
    args: [{ runId, teamId: 't1', params, approvalTimeoutMs: 60_000, heartbeatTimeoutMs: 1_000, ...input } satisfies TerraformRunInput],
  });
  return { handle, script: s, runId };
}

/** Waits (by query) until the workflow reports `status`. */
const reaches = (handle: WorkflowHandle, status: RunStatus) =>
  until(`the run to become ${status}`, async () => {
    const state = await handle.query(stateQuery);
    return state.status === status ? state : undefined;
  }, 20_000, 25);
const statuses = (s: Script) => s.recorded.filter((r) => r.status).map((r) => r.status);
const approver = { userId: 'u1', email: 'approver@example.test', comment: 'lgtm' };

describe('terraformRun', () => {
  it('waits for approval, records who approved, applies and succeeds', async () => {
    const { handle, script } = await start({ plans: [changes(2)] });
    expect(await reaches(handle, 'awaiting_approval')).toEqual({ status: 'awaiting_approval', step: 'approval' });
    expect(await handle.executeUpdate(approveUpdate, { args: [approver] })).toEqual({ status: 'running' });
    expect(await handle.result()).toEqual({ status: 'succeeded', summary: { add: 2, change: 0, destroy: 0 } });
    expect(statuses(script)).toEqual(['running', 'awaiting_approval', 'running', 'succeeded']);
    const approval = script.recorded.find((r) => r.approval)!;
    expect(approval).toMatchObject({ status: 'running', step: 'apply', approval: { decision: 'approved', by: 'u1', byEmail: approver.email, comment: 'lgtm' } });
    expect(new Date(approval.approval!.at).getTime()).not.toBeNaN();
    expect(script.applyCalls).toBe(1);
  });

  it('succeeds without approval when the plan has no changes, and applies at once when the API verified an auto-apply', async () => {
    const noop = await start({ plans: [{ hasChanges: false, summary: { add: 0, change: 0, destroy: 0 }, planId: 'p' }] });
    expect(await noop.handle.result()).toMatchObject({ status: 'succeeded' });
    expect(statuses(noop.script)).toEqual(['running', 'succeeded']);
    expect(noop.script.applyCalls).toBe(0);

    const params = { workspace: 'w', files: { 'main.tf': '' }, variables: {}, autoApply: true };
    const again = await start({}, { params, autoApprove: { by: 'u9', byEmail: 'lead@example.test', reason: 'permission' } });
    expect(await again.handle.result()).toMatchObject({ status: 'succeeded' });
    expect(statuses(again.script)).toEqual(['running', 'succeeded']);
    expect(again.script.applyCalls).toBe(1);
    expect(again.script.recorded.find((r) => r.approval)?.approval).toMatchObject({ decision: 'approved', by: 'u9', byEmail: 'lead@example.test' });
  });

  it('ignores autoApply in the params unless the API recorded who allowed it', async () => {
    const params = { workspace: 'w', files: { 'main.tf': '' }, variables: {}, autoApply: true };
    const { handle, script } = await start({}, { params });
    await reaches(handle, 'awaiting_approval');
    expect(script.applyCalls).toBe(0);
    await handle.cancel();
    await handle.result().catch(() => undefined);
  });

  it('takes a decision the API delivers as a signal, and ignores one sent while not waiting', async () => {
    const { handle, script } = await start({ plans: [changes(1)] });
    await reaches(handle, 'awaiting_approval');
    await handle.signal(decisionSignal, { decision: 'approved', userId: 'u2', email: 'signal@example.test', comment: 'via api' });
    expect(await handle.result()).toMatchObject({ status: 'succeeded' });
    expect(script.recorded.find((r) => r.approval)?.approval).toMatchObject({ decision: 'approved', by: 'u2', comment: 'via api' });

    const early = await start({ plans: [BLOCK] });
    await reaches(early.handle, 'running');
    await early.handle.signal(decisionSignal, { decision: 'approved', userId: 'u2', email: 'signal@example.test', comment: 'too early' });
    await early.handle.cancel();
    await early.handle.result().catch(() => undefined);
    expect(early.script.recorded.some((r) => r.approval)).toBe(false);
  });

  it('follows an apply whose process runs on another host to that host\'s queue', async () => {
    const elsewhere = ApplicationFailure.create({ message: 'on h-live', type: FAILURE_TYPES.processOnHost, nonRetryable: true, details: [{ hostId: 'h-live' }] });
    const { handle, script, runId } = await start({ apply: async (n) => (n === 1 ? Promise.reject(elsewhere) : { applied: true }) });
    const onHost: string[] = [];
    const hostWorker = await Worker.create({
      connection: workflows.env.nativeConnection,
      taskQueue: hostTaskQueue(taskQueue, 'h-live'),
      activities: answeringRetries({ ...activities, terraformApply: async (input: ApplyInput) => (onHost.push(input.runId), activities.terraformApply(input)) }),
    });
    const hostRunning = hostWorker.run();
    try {
      await reaches(handle, 'awaiting_approval');
      await handle.executeUpdate(approveUpdate, { args: [approver] });
      expect(await handle.result()).toMatchObject({ status: 'succeeded' });
      expect(onHost).toEqual([runId]);
      expect(script.applyInputs?.map((i) => i.hostGone)).toEqual([undefined, undefined]);
    } finally {
      hostWorker.shutdown();
      await hostRunning;
    }
  });

  it('decides without a host that no longer answers: the step is called again with hostGone', async () => {
    const elsewhere = ApplicationFailure.create({ message: 'on h-gone', type: FAILURE_TYPES.processOnHost, nonRetryable: true, details: [{ hostId: 'h-gone' }] });
    const { handle, script } = await start({ apply: async (n, input) => (n === 1 && !input.hostGone ? Promise.reject(elsewhere) : { applied: true }) });
    await reaches(handle, 'awaiting_approval');
    await handle.executeUpdate(approveUpdate, { args: [approver] });
    expect(await handle.result()).toMatchObject({ status: 'succeeded' });
    expect(script.applyInputs?.map((i) => i.hostGone)).toEqual([undefined, 'h-gone']);
  });

  it('ends as discarded, with the rejecting user and comment, when rejected', async () => {
    const { handle, script } = await start({});
    await reaches(handle, 'awaiting_approval');
    expect(await handle.executeUpdate(rejectUpdate, { args: [{ ...approver, comment: 'not today' }] })).toEqual({ status: 'discarded' });
    expect(await handle.result()).toMatchObject({ status: 'discarded' });
    expect(script.recorded.at(-1)).toMatchObject({ status: 'discarded', approval: { decision: 'rejected', byEmail: approver.email, comment: 'not today' } });
    expect(script.applyCalls).toBe(0);
  });

  it('times out when nobody decides in time', async () => {
    const { handle, script } = await start({}, { approvalTimeoutMs: 800 });
    expect(await handle.result()).toMatchObject({ status: 'timed_out' });
    expect(statuses(script)).toEqual(['running', 'awaiting_approval', 'timed_out']);
  });

  it('goes back to plan and approval when the saved plan went stale', async () => {
    const stale = ApplicationFailure.create({ message: 'stale', type: FAILURE_TYPES.stalePlan, nonRetryable: true });
    const { handle, script } = await start({
      plans: [changes(1), changes(3)],
      apply: async (n) => {
        if (n === 1) throw stale;
        return { applied: true };
      },
    });
    await reaches(handle, 'awaiting_approval');
    await handle.executeUpdate(approveUpdate, { args: [approver] });
    // A second plan and a second approval: the first decision was for a plan that no longer applies.
    await reaches(handle, 'awaiting_approval');
    expect(script.planCalls).toBe(2);
    await handle.executeUpdate(approveUpdate, { args: [{ ...approver, comment: 'again' }] });
    expect(await handle.result()).toMatchObject({ status: 'succeeded', summary: { add: 3 } });
    expect(statuses(script)).toEqual(['running', 'awaiting_approval', 'running', 'running', 'awaiting_approval', 'running', 'succeeded']);
    expect(script.recorded.some((r) => /stale/.test(r.message ?? ''))).toBe(true);
  });

  it('cancellation reaches the running activity, then the run is recorded cancelled', async () => {
    const { handle, script } = await start({ plans: [BLOCK] });
    await until('a plan call', async () => (script.planCalls > 0 ? true : undefined), 20_000, 25);
    await handle.cancel();
    const err = await handle.result().catch((e: unknown) => e);
    expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    expect(script.cancelledActivity).toBe(true);
    expect(statuses(script)).toEqual(['running', 'cancelled']);
  });

  it('a cancel while the apply waits for its launch\'s host stops that launch (there, or saying it could not) before the run is cancelled', async () => {
    const elsewhere = ApplicationFailure.create({ message: 'on h-down', type: FAILURE_TYPES.processOnHost, nonRetryable: true, details: [{ hostId: 'h-down' }] });
    const { handle, script } = await start({ apply: async () => Promise.reject(elsewhere) });
    await reaches(handle, 'awaiting_approval');
    await handle.executeUpdate(approveUpdate, { args: [approver] });
    await until('the apply to name its host', async () => (script.applyCalls > 0 ? true : undefined), 20_000, 25);
    await handle.cancel();
    const err = await handle.result().catch((e: unknown) => e);
    expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    // Asked where the launch is, then on its host's queue; nobody there, so decided without it.
    expect(script.stopInputs?.map((i) => [i.step, i.hostGone])).toEqual([[script.applyInputs![0]!.step, undefined], [script.applyInputs![0]!.step, 'h-down']]);
    expect(statuses(script).at(-1)).toBe('cancelled');
  });

  it('cancellation while waiting for approval records cancelled', async () => {
    const { handle, script } = await start({});
    await reaches(handle, 'awaiting_approval');
    await handle.cancel();
    await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
    expect(statuses(script)).toEqual(['running', 'awaiting_approval', 'cancelled']);
  });

  it('refuses approve/reject (validator) when the run is not awaiting approval', async () => {
    const { handle, script } = await start({ plans: [BLOCK] });
    await reaches(handle, 'running');
    await expect(handle.executeUpdate(approveUpdate, { args: [approver] })).rejects.toBeInstanceOf(WorkflowUpdateFailedError);
    await handle.cancel();
    await handle.result().catch(() => undefined);
    expect(script.recorded.some((r) => r.approval)).toBe(false);

    const second = await start({});
    await reaches(second.handle, 'awaiting_approval');
    await second.handle.executeUpdate(approveUpdate, { args: [approver] });
    const late = await second.handle.executeUpdate(rejectUpdate, { args: [approver] }).catch((e: unknown) => e);
    expect(late).toBeInstanceOf(Error);
    expect(await second.handle.result()).toMatchObject({ status: 'succeeded' });
  });

  it('a terraform failure ends the run failed with terraform\'s message', async () => {
    const bad = ApplicationFailure.create({ message: 'terraform plan failed: Error: Invalid expression', type: FAILURE_TYPES.terraform, nonRetryable: true });
    const { handle, script } = await start({ plans: [bad] });
    const err = await handle.result().catch((e: unknown) => e);
    expect((err as WorkflowFailedError).cause).toMatchObject({ type: FAILURE_TYPES.terraform, message: bad.message });
    expect(script.recorded.at(-1)).toMatchObject({ status: 'failed', error: bad.message });
  });
});
