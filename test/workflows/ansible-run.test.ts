import { describe, expect, it } from '@jest/globals';
import { Context } from '@temporalio/activity';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { ansibleParamsSchema, type AnsiblePlayResult } from '../../contracts/kinds/ansible.ts';
import type { RunStatus } from '../../contracts/runs.ts';
import { approveUpdate, FAILURE_TYPES, rejectUpdate, stateQuery } from '../../contracts/temporal.ts';
import type { AnsibleRunActivities, AnsibleRunInput } from '../../workflows/ansible-run.ts';
import { until } from '../fixtures/until.ts';
import { useWorkflowWorker } from '../fixtures/workflow-env.ts';

// Workflow logic in isolation: the real workflow code on the Temporal dev server, activities replaced by
// scripts per run. The activities are tested against real sshd hosts in test/activities/ansible.test.ts.
type Recorded = Parameters<AnsibleRunActivities['recordRunState']>[0];
type PlayInput = Parameters<AnsibleRunActivities['ansiblePlay']>[0];
type Script = {
  check: AnsiblePlayResult | 'block';
  play: (attempt: number, input: PlayInput) => Promise<AnsiblePlayResult>;
  recorded: Recorded[];
  checkCalls: number;
  playInputs: PlayInput[];
  stopInputs?: PlayInput[];
  cancelledActivity?: boolean;
};
const scripts = new Map<string, Script>();
const onDownHost = () => ApplicationFailure.create({ message: 'on h-down', type: FAILURE_TYPES.processOnHost, nonRetryable: true, details: [{ hostId: 'h-down' }] });
const host = (changed: number, extra: Record<string, unknown> = {}) => ({ ok: 1, changed, failed: 0, unreachable: 0, skipped: 0, rescued: 0, ignored: 0, ...extra });
const clean = (changed = 1): AnsiblePlayResult => ({ recap: { web1: host(changed), web2: host(changed) }, commit: null, problems: [] });

const activities: AnsibleRunActivities = {
  async recordRunState(input) {
    scripts.get(input.runId)!.recorded.push(input);
  },
  async ansibleCheck({ runId }) {
    const s = scripts.get(runId)!;
    s.checkCalls++;
    if (s.check !== 'block') return s.check;
    try {
      for (;;) {
        Context.current().heartbeat();
        await Context.current().sleep(50);
      }
    } catch (err) {
      if (err instanceof CancelledFailure) s.cancelledActivity = true;
      throw err;
    }
  },
  async ansiblePlay(input) {
    const s = scripts.get(input.runId)!;
    s.playInputs.push(input);
    return s.play(s.playInputs.length, input);
  },
  async ansibleStopPlay(input) {
    (scripts.get(input.runId)!.stopInputs ??= []).push(input);
    // The launch is on a host with no worker, as in the play script of the test that cancels.
    if (!input.hostGone) throw onDownHost();
    return { running: true };
  },
  async runHosts() {
    return [];
  },
  async releaseRunFiles() {},
};

const workflows = useWorkflowWorker('wf-ansible', activities, { hosts: ['h1'] });
const taskQueue = workflows.taskQueue;


const params = (extra: Record<string, unknown> = {}) =>
  ansibleParamsSchema.parse({ inventory: { hosts: [{ name: 'web1', address: '127.0.0.1', integration: crypto.randomUUID() }] }, playbook: '- hosts: all\n', ...extra });

async function start(script: Partial<Script>, input: Partial<AnsibleRunInput> = {}) {
  const runId = crypto.randomUUID();
  const s: Script = { check: clean(), play: async () => clean(), recorded: [], checkCalls: 0, playInputs: [], ...script };
  scripts.set(runId, s);
  const handle = await workflows.env.client.workflow.start('ansibleRun', {
    taskQueue,
    workflowId: runId,
    args: [{ runId, teamId: 't1', params: params(), approvalTimeoutMs: 60_000, heartbeatTimeoutMs: 1_000, ...input } satisfies AnsibleRunInput],
  });
  return { handle, script: s, runId };
}

const reaches = (handle: WorkflowHandle, status: RunStatus) =>
  until(`the run to become ${status}`, async () => {
    const state = await handle.query(stateQuery);
    return state.status === status ? state : undefined;
  }, 20_000, 25);
const statuses = (s: Script) => s.recorded.filter((r) => r.status).map((r) => r.status);
const approver = { userId: 'u1', email: 'approver@example.test', comment: 'go' };

describe('ansibleRun', () => {
  it('checks, waits for approval with the check recap, runs the play and reports the recap', async () => {
    const { handle, script } = await start({ play: async () => clean(0) });
    expect(await reaches(handle, 'awaiting_approval')).toEqual({ status: 'awaiting_approval', step: 'approval' });
    const waiting = script.recorded.find((r) => r.status === 'awaiting_approval')!;
    expect(waiting.summary).toEqual({ check: clean().recap });
    await handle.executeUpdate(approveUpdate, { args: [approver] });
    expect(await handle.result()).toEqual({ status: 'succeeded', summary: { check: clean().recap, recap: clean(0).recap } });
    expect(statuses(script)).toEqual(['running', 'awaiting_approval', 'running', 'succeeded']);
    expect(script.playInputs).toHaveLength(1);
    expect(script.playInputs[0]!.step).toBe('run');
  });

  it('a rejection discards the run without playing', async () => {
    const { handle, script } = await start({});
    await reaches(handle, 'awaiting_approval');
    await handle.executeUpdate(rejectUpdate, { args: [approver] });
    expect((await handle.result()).status).toBe('discarded');
    expect(script.playInputs).toHaveLength(0);
  });

  it('a host failing the check ends the run failed before approval, naming host and task, keeping every host\'s recap', async () => {
    const failing: AnsiblePlayResult = { recap: { web1: host(1), web2: host(0, { failed: 1, failedTask: 'deploy' }) }, commit: null, problems: ['web2: task "deploy" failed: boom'] };
    const { handle, script } = await start({ check: failing });
    expect(await handle.result()).toEqual({ status: 'failed', summary: { check: failing.recap } });
    expect(script.recorded.at(-1)).toMatchObject({ status: 'failed', error: 'the check run failed on 1 host: web2: task "deploy" failed: boom' });
    expect(statuses(script)).not.toContain('awaiting_approval');
    expect(script.playInputs).toHaveLength(0);
  });

  it('check: false asks for approval at once, then plays', async () => {
    const { handle, script } = await start({}, { params: params({ check: false }) });
    await reaches(handle, 'awaiting_approval');
    expect(script.checkCalls).toBe(0);
    await handle.executeUpdate(approveUpdate, { args: [approver] });
    expect((await handle.result()).status).toBe('succeeded');
  });

  it('an auto-approved run plays without waiting, with the approval recorded', async () => {
    const { handle, script } = await start({}, { autoApprove: { by: 'u2', byEmail: 'a@example.test', reason: 'permission' } });
    expect((await handle.result()).status).toBe('succeeded');
    expect(statuses(script)).not.toContain('awaiting_approval');
    expect(script.recorded.find((r) => r.approval)?.approval).toMatchObject({ decision: 'approved', by: 'u2' });
  });

  it('a play that runs on another host is followed on that host\'s queue', async () => {
    const play = async (attempt: number): Promise<AnsiblePlayResult> => {
      if (attempt === 1) throw ApplicationFailure.create({ message: 'on h1', type: FAILURE_TYPES.processOnHost, nonRetryable: true, details: [{ hostId: 'h1' }] });
      return clean();
    };
    const { handle, script } = await start({ play }, { autoApprove: { by: 'u2', byEmail: 'a@example.test', reason: 'permission' } });
    expect((await handle.result()).status).toBe('succeeded');
    expect(script.playInputs).toHaveLength(2);
  });

  it('an error from ansible-playbook fails the run with its message', async () => {
    const play = async (): Promise<AnsiblePlayResult> => {
      throw ApplicationFailure.create({ message: '[ERROR]: YAML parsing failed\nOrigin: playbook.yml line 4, column 6', type: 'AnsibleFailed', nonRetryable: true });
    };
    const { handle, script } = await start({ play }, { autoApprove: { by: 'u2', byEmail: 'a@example.test', reason: 'permission' } });
    const err = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(script.recorded.at(-1)).toMatchObject({ status: 'failed', error: expect.stringContaining('playbook.yml line 4, column 6') });
  });

  it('a cancel while the play waits for its launch\'s host stops that launch (there, or saying it could not) before the run is cancelled', async () => {
    const { handle, script } = await start({ play: async () => Promise.reject(onDownHost()) }, { autoApprove: { by: 'u2', byEmail: 'a@example.test', reason: 'permission' } });
    await until('the play to name its host', async () => (script.playInputs.length > 0 ? true : undefined), 20_000, 25);
    await handle.cancel();
    const err = await handle.result().catch((e: unknown) => e);
    expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    // Asked where the launch is, then on its host's queue; nobody there, so decided without it.
    expect(script.stopInputs?.map((i) => [i.step, i.hostGone])).toEqual([['run', undefined], ['run', 'h-down']]);
    expect(statuses(script).at(-1)).toBe('cancelled');
  });

  it('a cancel during the check stops the activity and ends the run cancelled', async () => {
    const { handle, script } = await start({ check: 'block' });
    await until('the check to run', async () => (script.checkCalls > 0 ? true : undefined));
    await handle.cancel();
    await expect(handle.result()).rejects.toThrow(WorkflowFailedError);
    expect(script.cancelledActivity).toBe(true);
    expect(statuses(script).at(-1)).toBe('cancelled');
  });
});
