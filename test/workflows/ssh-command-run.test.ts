import { describe, expect, it } from '@jest/globals';
import { Context } from '@temporalio/activity';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { sshCommandParamsSchema, type SshCommandRunInput, type SshHostResult } from '../../contracts/kinds/ssh-command.ts';
import type { RunStatus } from '../../contracts/runs.ts';
import { approveUpdate, rejectUpdate, stateQuery } from '../../contracts/temporal.ts';
import type { SshCommandRunActivities } from '../../workflows/ssh-command-run.ts';
import { until } from '../fixtures/until.ts';
import { useWorkflowWorker } from '../fixtures/workflow-env.ts';

// The workflow's own logic (approval, the parallelism limit, per-host failures, cancel) with scripted
// activities; the activity itself is tested against real sshd in test/activities/ssh-command.test.ts.
type Recorded = Parameters<SshCommandRunActivities['recordRunState']>[0];
type HostInput = Parameters<SshCommandRunActivities['sshCommandHost']>[0];
type Script = {
  host: (input: HostInput) => Promise<SshHostResult>;
  recorded: Recorded[];
  calls: string[];
  running: number;
  maxRunning: number;
  cancelled: string[];
  stops: string[];
  stop?: (input: HostInput) => Promise<{ running: boolean }>;
};
const scripts = new Map<string, Script>();

const activities: SshCommandRunActivities = {
  async recordRunState(input) {
    scripts.get(input.runId)!.recorded.push(input);
  },
  async sshCommandHost(input) {
    const s = scripts.get(input.runId)!;
    s.calls.push(input.host.name);
    s.running++;
    s.maxRunning = Math.max(s.maxRunning, s.running);
    try {
      return await s.host(input);
    } catch (err) {
      if (err instanceof CancelledFailure) s.cancelled.push(input.host.name);
      throw err;
    } finally {
      s.running--;
    }
  },
  async sshCommandStop(input) {
    const s = scripts.get(input.runId)!;
    s.stops.push(input.host.name);
    return s.stop ? s.stop(input) : { running: false };
  },
  async runHosts() {
    return [];
  },
  async releaseRunFiles() {},
};

/** Heartbeats for a while (so several hosts overlap), then exits with `code`. */
const exitsWith = (code: (name: string) => number, ms = 100) => async (input: HostInput): Promise<SshHostResult> => {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    Context.current().heartbeat();
    await Context.current().sleep(20);
  }
  const c = code(input.host.name);
  return c === 0 ? { host: input.host.name, status: 'succeeded', exitCode: 0 } : { host: input.host.name, status: 'failed', exitCode: c, error: `exit code ${c}` };
};
const blockUntilCancelled = async (): Promise<never> => {
  for (;;) {
    Context.current().heartbeat();
    await Context.current().sleep(20);
  }
};

const workflows = useWorkflowWorker('wf-ssh', activities);
const taskQueue = workflows.taskQueue;


const hosts = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `h${i + 1}`, address: '127.0.0.1', port: 22, integration: crypto.randomUUID() }));

async function start(host: Script['host'], params: Record<string, unknown>, stop?: Script['stop']) {
  const runId = crypto.randomUUID();
  const s: Script = { host, recorded: [], calls: [], running: 0, maxRunning: 0, cancelled: [], stops: [], ...(stop ? { stop } : {}) };
  scripts.set(runId, s);
  const input: SshCommandRunInput = { runId, teamId: 't1', params: sshCommandParamsSchema.parse({ command: 'uptime', ...params }), approvalTimeoutMs: 60_000, heartbeatTimeoutMs: 2_000 };
  const handle = await workflows.env.client.workflow.start('sshCommandRun', { taskQueue, workflowId: runId, args: [input] });
  return { handle, script: s };
}
const reaches = (handle: WorkflowHandle, status: RunStatus) =>
  until(`the run to become ${status}`, async () => ((await handle.query(stateQuery)).status === status ? true : undefined), 20_000, 25);
const statuses = (s: Script) => s.recorded.filter((r) => r.status).map((r) => r.status);
const approver = { userId: 'u1', email: 'approver@example.test', comment: 'go' };

describe('sshCommandRun', () => {
  it('runs every host, never more than `parallel` at once, and summarises exit codes in params order', async () => {
    const { handle, script } = await start(exitsWith(() => 0), { hosts: hosts(7), parallel: 3 });
    const result = await handle.result();
    expect(result.status).toBe('succeeded');
    expect(result.summary).toEqual({ hosts: hosts(7).map((h) => ({ host: h.name, status: 'succeeded', exitCode: 0 })), succeeded: 7, failed: 0, pending: 0 });
    expect(script.calls.sort()).toEqual(hosts(7).map((h) => h.name).sort());
    expect(script.maxRunning).toBe(3);
    expect(statuses(script)).toEqual(['running', 'succeeded']);
  });

  it('fails the run when one host fails, keeping every other host’s result', async () => {
    const { handle, script } = await start(exitsWith((n) => (n === 'h2' ? 4 : 0)), { hosts: hosts(3), parallel: 3 });
    const err = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(((err as WorkflowFailedError).cause as ApplicationFailure).message).toBe('1 of 3 hosts failed: h2 (exit code 4)');
    const last = script.recorded.at(-1)!;
    expect(last).toMatchObject({ status: 'failed', error: '1 of 3 hosts failed: h2 (exit code 4)' });
    expect(last.summary).toMatchObject({ succeeded: 2, failed: 1, pending: 0 });
    expect((last.summary as { hosts: SshHostResult[] }).hosts.map((h) => [h.host, h.exitCode])).toEqual([['h1', 0], ['h2', 4], ['h3', 0]]);
  });

  it('counts a host whose activity gave up as failed, with the activity’s message', async () => {
    const broken = async (input: HostInput): Promise<SshHostResult> => {
      if (input.host.name === 'h1') throw ApplicationFailure.nonRetryable('the host vanished mid-way', 'SshUnreachable');
      return exitsWith(() => 0, 10)(input);
    };
    const { handle, script } = await start(broken, { hosts: hosts(2) });
    await expect(handle.result()).rejects.toThrow(WorkflowFailedError);
    expect(script.recorded.at(-1)?.summary).toMatchObject({ hosts: [{ host: 'h1', status: 'failed', exitCode: null, error: 'the host vanished mid-way' }, { host: 'h2', status: 'succeeded' }] });
  });

  it('waits for approval when the params ask, and runs nothing when rejected', async () => {
    const ok = await start(exitsWith(() => 0, 10), { hosts: hosts(2), requireApproval: true });
    await reaches(ok.handle, 'awaiting_approval');
    // The query answers as soon as the workflow sets its state; the record follows through an activity.
    await until('the approval wait to be recorded', async () => (ok.script.recorded.at(-1)?.status === 'awaiting_approval' ? true : undefined), 20_000, 25);
    expect(ok.script.calls).toEqual([]);
    expect(ok.script.recorded.at(-1)).toMatchObject({ status: 'awaiting_approval', summary: { hosts: ['h1', 'h2'], command: 'uptime' } });
    expect(await ok.handle.executeUpdate(approveUpdate, { args: [approver] })).toEqual({ status: 'running' });
    expect(await ok.handle.result()).toMatchObject({ status: 'succeeded' });
    expect(statuses(ok.script)).toEqual(['awaiting_approval', 'running', 'succeeded']);

    const no = await start(exitsWith(() => 0, 10), { hosts: hosts(2), requireApproval: true });
    await reaches(no.handle, 'awaiting_approval');
    await no.handle.executeUpdate(rejectUpdate, { args: [{ ...approver, comment: 'not now' }] });
    expect(await no.handle.result()).toMatchObject({ status: 'discarded' });
    expect(no.script.calls).toEqual([]);
  });

  it('on cancel, cancels the hosts under way, starts no more, and ends cancelled', async () => {
    const { handle, script } = await start(blockUntilCancelled, { hosts: hosts(4), parallel: 2 });
    await until('two hosts to run', async () => (script.running === 2 ? true : undefined), 20_000, 25);
    await handle.cancel();
    await expect(handle.result()).rejects.toThrow(WorkflowFailedError);
    expect(script.cancelled.sort()).toEqual(['h1', 'h2']);
    expect(script.calls.sort()).toEqual(['h1', 'h2']);
    expect(statuses(script)).toEqual(['running', 'cancelled']);
  });

  it('a cancel between a host\'s attempts stops its command there before the run is cancelled, and names a host it could not reach', async () => {
    // h1 and h3 lose their attempts (a worker gone) and wait for the next; h2's attempt runs.
    const host = async (input: HostInput): Promise<SshHostResult> => {
      if (input.host.name === 'h2') return blockUntilCancelled();
      throw new Error('worker shutting down');
    };
    const stop = async (input: HostInput) => {
      if (input.host.name === 'h3') throw ApplicationFailure.nonRetryable('cannot connect to h3: ECONNREFUSED', 'SshUnreachable');
      return { running: input.host.name === 'h1' };
    };
    const { handle, script } = await start(host, { hosts: hosts(3), parallel: 3 }, stop);
    await until('every host to have had an attempt', async () => (new Set(script.calls).size === 3 ? true : undefined), 20_000, 25);
    await handle.cancel();
    await expect(handle.result()).rejects.toThrow(WorkflowFailedError);
    expect(script.stops.sort()).toEqual(['h1', 'h2', 'h3']);
    expect(script.recorded.at(-1)).toMatchObject({ status: 'cancelled', message: expect.stringContaining('could not be stopped on h3 (not reachable)') });
  });
});
