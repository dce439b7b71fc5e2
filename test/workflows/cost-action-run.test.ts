import { expect, it } from '@jest/globals';
import type { CostActionResult } from '../../contracts/kinds/cost-action.ts';
import type { RunStatus } from '../../contracts/runs.ts';
import { approveUpdate, stateQuery, type RunInput } from '../../contracts/temporal.ts';
import type { RunBookkeepingActivities } from '../../workflows/blocks/reporter.ts';
import type { CostActionRunActivities } from '../../workflows/cost-action-run.ts';
import { until } from '../fixtures/until.ts';
import { cancelTaken, useWorkflowWorker } from '../fixtures/workflow-env.ts';

// The costActionRun workflow's record when a cancel meets an action already under way: the action
// changes the account whatever the cancel says, so the run must end saying what happened.
type Recorded = Parameters<RunBookkeepingActivities['recordRunState']>[0];
const recorded = new Map<string, Recorded[]>();
let entered!: () => void;
let release!: () => void;
const result: CostActionResult = { action: 'stop-instance', resourceId: 'i-1', outcome: 'done', detail: 'instance i-1 stopped' };

const activities: RunBookkeepingActivities & CostActionRunActivities = {
  async recordRunState(input) {
    recorded.get(input.runId)!.push(input);
  },
  async runHosts() {
    return [];
  },
  async releaseRunFiles() {},
  async runCostAction() {
    entered();
    // The call to the cloud is under way and will not be taken back; it ignores the cancel, as a stop does.
    await new Promise<void>((r) => (release = r));
    return result;
  },
};
const workflows = useWorkflowWorker('cost-action-wf', activities);

it('a cancel while the action runs: the action finished in the account, and the run says succeeded', async () => {
  const runId = crypto.randomUUID();
  recorded.set(runId, []);
  const input: RunInput<{ integration: string; region: string; action: 'stop-instance'; resourceId: string }> = {
    runId, teamId: 't1', params: { integration: crypto.randomUUID(), region: 'eu-west-1', action: 'stop-instance', resourceId: 'i-1' }, approvalTimeoutMs: 60_000, heartbeatTimeoutMs: 30_000,
  };
  const handle = await workflows.env.client.workflow.start('costActionRun', { taskQueue: workflows.taskQueue, workflowId: runId, args: [input] });
  await until('the run to wait for approval', async () => ((await handle.query(stateQuery)).status === ('awaiting_approval' as RunStatus) ? true : undefined), 20_000, 25);
  const acting = new Promise<void>((r) => (entered = r));
  await handle.executeUpdate(approveUpdate, { args: [{ userId: 'u1', email: 'approver@example.test', comment: 'go' }] });
  await acting;
  try {
    await cancelTaken(handle);
  } finally {
    release();
  }
  await handle.result().catch(() => undefined);
  expect(recorded.get(runId)!.at(-1)).toMatchObject({ status: 'succeeded', summary: result });
});
