import { describe, expect, it } from '@jest/globals';
import { ApplicationFailure } from '@temporalio/common';
import type { WorkflowHandle } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { DEPLOY_FAILED, deployParamsSchema, type DeployPlan, type DeployRunInput } from '../../contracts/kinds/deploy.ts';
import type { RunStatus } from '../../contracts/runs.ts';
import { approveUpdate, rejectUpdate, stateQuery } from '../../contracts/temporal.ts';
import type { DeployRunActivities } from '../../workflows/deploy-run.ts';
import { until } from '../fixtures/until.ts';
import { answeringRetries, cancelTaken, useWorkflowWorker } from '../fixtures/workflow-env.ts';
import { workflowBundle } from '../peers/worker.ts';

// The deployRun workflow's decisions in isolation (approval, rollback outcomes), activities scripted
// per run. The activities themselves run against podman and the Kubernetes simulation in
// test/activities/deploy-*.test.ts, and the whole path in test/e2e/deploy-run.test.ts.
type Recorded = Parameters<DeployRunActivities['recordRunState']>[0];
type Script = {
  plan?: DeployPlan;
  rollout?: () => Promise<{ live: Record<string, string> }>;
  switch?: () => Promise<void>;
  rollback?: () => Promise<{ live: Record<string, string>; changed: boolean }>;
  recorded: Recorded[];
  calls: string[];
};
const scripts = new Map<string, Script>();
const plan: DeployPlan = {
  changes: [{ container: 'app', field: 'image', from: 'web:v1', to: 'web:v2' }],
  rollbackPoint: { platform: 'kubernetes', namespace: 'shop', deployment: 'web', images: { app: 'web:v1' }, template: {} },
};
const failure = (message: string) => ApplicationFailure.create({ message, type: DEPLOY_FAILED, nonRetryable: true });

const activities: DeployRunActivities = {
  async recordRunState(input) {
    scripts.get(input.runId)!.recorded.push(input);
  },
  async runHosts() {
    return [];
  },
  async releaseRunFiles() {},
  async deployPlan({ runId }) {
    scripts.get(runId)!.calls.push('plan');
    return scripts.get(runId)!.plan ?? plan;
  },
  async deployRollout({ runId }) {
    const s = scripts.get(runId)!;
    s.calls.push('rollout');
    return s.rollout ? s.rollout() : { live: { app: 'web:v2' } };
  },
  async deployVerify({ runId }) {
    scripts.get(runId)!.calls.push('verify');
    return { rounds: 1 };
  },
  async deploySwitch({ runId }) {
    const s = scripts.get(runId)!;
    s.calls.push('switch');
    await s.switch?.();
  },
  async deployRollback({ runId }) {
    const s = scripts.get(runId)!;
    s.calls.push('rollback');
    return s.rollback ? s.rollback() : { live: { app: 'web:v1' }, changed: true };
  },
};

const workflows = useWorkflowWorker('deploy-wf', activities);
const taskQueue = workflows.taskQueue;


async function start(script: Partial<Script>, extra: Record<string, unknown> = {}) {
  const runId = crypto.randomUUID();
  const s: Script = { recorded: [], calls: [], ...script };
  scripts.set(runId, s);
  const params = deployParamsSchema.parse({ target: { platform: 'kubernetes', integration: crypto.randomUUID(), deployment: 'web', images: { app: 'web:v2' } }, ...extra });
  const input: DeployRunInput = { runId, teamId: 't1', params, approvalTimeoutMs: 60_000, heartbeatTimeoutMs: 1_000 };
  const handle = await workflows.env.client.workflow.start('deployRun', { taskQueue, workflowId: runId, args: [input] });
  return { handle, script: s };
}
const reaches = (handle: WorkflowHandle, status: RunStatus) =>
  until(`the run to become ${status}`, async () => ((await handle.query(stateQuery)).status === status ? true : undefined), 20_000, 25);
const approver = { userId: 'u1', email: 'approver@example.test', comment: 'ship it' };

describe('deployRun', () => {
  it('shows the diff and waits for approval before anything changes when asked to', async () => {
    const { handle, script } = await start({}, { requireApproval: true });
    await reaches(handle, 'awaiting_approval');
    expect(script.calls).toEqual(['plan']);
    expect(script.recorded.at(-1)).toMatchObject({ status: 'awaiting_approval', summary: { changes: plan.changes, previous: { app: 'web:v1' } } });
    await handle.executeUpdate(approveUpdate, { args: [approver] });
    expect(await handle.result()).toMatchObject({ status: 'succeeded', summary: { live: { app: 'web:v2' } } });
    expect(script.calls).toEqual(['plan', 'rollout']);
  });

  it('ends discarded on rejection, with nothing rolled out', async () => {
    const { handle, script } = await start({}, { requireApproval: true });
    await reaches(handle, 'awaiting_approval');
    await handle.executeUpdate(rejectUpdate, { args: [{ ...approver, comment: 'not now' }] });
    expect(await handle.result()).toMatchObject({ status: 'discarded' });
    expect(script.calls).toEqual(['plan']);
  });

  it('a cancel during the blue-green switch rolls back only once the switch has finished', async () => {
    const blueGreen = { service: 'web', selector: { app: 'web' }, live: 'web', next: 'web-blue', slot: 'blue', liveReplicas: 2 };
    let entered!: () => void;
    let release!: () => void;
    const inSwitch = new Promise<void>((r) => (entered = r));
    const released = new Promise<void>((r) => (release = r));
    const { handle, script } = await start({
      plan: { ...plan, rollbackPoint: { ...plan.rollbackPoint, blueGreen } as DeployPlan['rollbackPoint'] },
      switch: async () => {
        entered();
        await released;
        script.calls.push('switched');
      },
    });
    await inSwitch;
    let events;
    try {
      // Once the workflow has taken the cancel, it has scheduled no rollback while the switch still writes.
      events = await cancelTaken(handle);
    } finally {
      release();
    }
    expect(events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'deployRollback')).toEqual([]);
    await expect(handle.result()).rejects.toThrow();
    expect(script.calls).toEqual(['plan', 'rollout', 'switch', 'switched', 'rollback']);
    expect(script.recorded.at(-1)).toMatchObject({ status: 'cancelled' });
  });

  it('names both failures and the version to check when the rollback fails too', async () => {
    const { handle, script } = await start({
      rollout: () => Promise.reject(failure('rollout of shop/web made no progress within its deadline (ProgressDeadlineExceeded)')),
      rollback: () => Promise.reject(failure('forbidden by the cluster\'s RBAC while updating deployment shop/web')),
    });
    await expect(handle.result()).rejects.toThrow();
    expect(script.calls).toEqual(['plan', 'rollout', 'rollback']);
    expect(script.recorded.at(-1)).toMatchObject({
      status: 'failed',
      error: "rollout of shop/web made no progress within its deadline (ProgressDeadlineExceeded); the rollback failed too: forbidden by the cluster's RBAC while updating deployment shop/web (check web by hand; it was on web:v1)",
    });
  });

  it('does not roll back what never changed: a failed diff ends the run failed at once', async () => {
    const runId = crypto.randomUUID();
    scripts.set(runId, { recorded: [], calls: [] });
    const failing = await Worker.create({
      connection: workflows.env.nativeConnection,
      taskQueue: `${taskQueue}-plan-fails`,
      workflowBundle: await workflowBundle(),
      activities: answeringRetries({ ...activities, deployPlan: () => Promise.reject(failure('not found while reading deployment shop/web')) }),
    });
    const run = failing.run();
    try {
      const params = deployParamsSchema.parse({ target: { platform: 'kubernetes', integration: crypto.randomUUID(), deployment: 'web', images: { app: 'web:v2' } } });
      const handle = await workflows.env.client.workflow.start('deployRun', { taskQueue: `${taskQueue}-plan-fails`, workflowId: runId, args: [{ runId, teamId: 't1', params, approvalTimeoutMs: 60_000 } satisfies DeployRunInput] });
      await expect(handle.result()).rejects.toThrow();
      expect(scripts.get(runId)!.calls).toEqual([]);
      expect(scripts.get(runId)!.recorded.at(-1)).toMatchObject({ status: 'failed', error: 'not found while reading deployment shop/web' });
    } finally {
      failing.shutdown();
      await run;
    }
  });
});
