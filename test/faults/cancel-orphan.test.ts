import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
// A CommonJS module: Node's ESM loader does not see its named exports.
import proto from '@temporalio/proto';
import { loadConfig } from '../../core/config.ts';
import { keyringFromConfig } from '../../core/secrets/keyring.ts';
import { initOrm } from '../../db/orm.ts';
import { hostsDir, inventoryOf, storeSshIntegration } from '../fixtures/ansible.ts';
import { hostOf } from '../fixtures/ssh-command.ts';
import { startCuttableLink } from '../fixtures/cuttable-link.ts';
import { until } from '../fixtures/until.ts';
import { expectStoppedMidProvisioner } from '../fixtures/terraform/configs.ts';
import { startSshd, type SshdPeer } from '../peers/sshd.ts';
import { processAlive, stopProcess } from '../peers/processes.ts';
import { useFaultStack, xThenY } from './stack.ts';
import { recordFault } from './report.ts';

// An apply (or a play) outlives its worker; the run is cancelled while no attempt follows it (the next
// one is waiting for the launch's host). The cancel must reach that process before the run says `cancelled`.
// A long heartbeat timeout gives the host's worker time to come back before the host counts as gone.
const stack = useFaultStack({ workers: 0, env: { HEARTBEAT_TIMEOUT_SECONDS: '20' } });

it('a cancel while no attempt follows the apply interrupts it on its host before the run is cancelled', async () => {
  const tag = crypto.randomUUID().slice(0, 8);
  const a = await stack().worker('host-a');
  const b = await stack().worker('host-b');
  const runId = await stack().startRun({ workspace: `orphan-${tag}`, files: xThenY(stack().effects, tag), autoApply: true });
  await stack().untilRuns([runId], 'the apply to start', async () => (stack().effects.counts.has(`${tag}/x`) ? true : undefined), 120_000, 20);
  const [launch] = await stack().query<{ dir: string; host_id: string }>(`select dir, host_id from run_processes where run_id = $1 and command = 'apply'`, [runId]);
  const pid = Number(readFileSync(path.join(launch!.dir, 'pid'), 'utf8'));
  // Host A's worker may have taken the run; the apply ran where its launch is recorded.
  const apply = launch!.host_id === 'host-a' ? a : b;
  const other = apply === a ? b : a;
  const applyHost = launch!.host_id;
  // A worker shutting down leaves its process to the next attempt (after its grace time), which can only
  // follow it on this host.
  await stopProcess(apply.child, 'SIGTERM');
  expect(processAlive(pid)).toBe(true);
  expect((await stack().call('POST', `/api/v1/runs/${runId}/cancel`, stack().token, {})).status).toBe(202);
  // The other host's worker takes the cancel; the launch's host is back a moment later.
  const back = await stack().worker(applyHost);
  const final = await stack().ended(runId, 120_000);
  const stillRunning = processAlive(pid);
  const created = ['x', 'y'].map((n) => stack().effects.counts.get(`${tag}/${n}`) ?? 0);
  const messages = (await stack().query<{ message: string }>(`select message from run_events where run_id = $1 order by seq`, [runId])).map((e) => e.message);
  const ok = final.status === 'cancelled' && !stillRunning && created[1] === 0;
  recordFault({ fault: 'cancel while no attempt follows the apply', passed: ok ? 1 : 0, rounds: 1, detail: 'the launch was interrupted on its host before the run reported cancelled; nothing after it was applied' });
  expect(final.status).toBe('cancelled');
  expect(stillRunning).toBe(false);
  expectStoppedMidProvisioner(messages);
  // y was to be created after x: the interrupted apply never got there, and nothing made it later.
  expect(created).toEqual([1, 0]);
  await stopProcess(back.child, 'SIGKILL');
  await stopProcess(other.child, 'SIGKILL');
}, 300_000);

// The same for an Ansible play: its task is cut short on the cancel, and the task after it never runs.
let web1: SshdPeer;
let hosts: string;
let inventory: ReturnType<typeof inventoryOf>;
let sshIntegration: string;
beforeAll(async () => {
  web1 = await startSshd();
  hosts = hostsDir();
  const orm = await initOrm(stack().env.DATABASE_URL!, { poolMax: 1 });
  const integration = await storeSshIntegration(orm.em, keyringFromConfig(loadConfig(process.env)), stack().team.id, { user: web1.user, hostKeys: [web1.knownHostsLine], privateKey: web1.clientKey.privateKey });
  inventory = inventoryOf([{ peer: web1, integration }]);
  sshIntegration = integration;
  await orm.close();
}, 60_000);
afterAll(async () => {
  await web1?.stop();
  rmSync(hosts, { recursive: true, force: true });
});

it('a cancel while no attempt follows the play interrupts it on its host before the run is cancelled', async () => {
  const tag = crypto.randomUUID().slice(0, 8);
  const mark = (what: string) => path.join(hosts, `${tag}-${what}`);
  const playbook = `
- hosts: web
  gather_facts: false
  tasks:
    - name: long
      ansible.builtin.shell: "echo started > ${mark('long')} && sleep 60"
    - name: after
      ansible.builtin.shell: "echo ran > ${mark('after')}"
`;
  const a = await stack().worker('host-a');
  const b = await stack().worker('host-b');
  const res = await stack().call('POST', '/api/v1/runs', stack().token, { kind: 'ansible', team: stack().team.slug, params: { inventory, playbook, check: false, autoApply: true } });
  expect(res.status).toBe(201);
  const runId = res.body.id as string;
  await until('the long task to start', async () => (existsSync(mark('long')) ? true : undefined), 120_000, 20);
  const [launch] = await stack().query<{ dir: string; host_id: string }>(`select dir, host_id from run_processes where run_id = $1 and command = 'ansible-playbook'`, [runId]);
  const pid = Number(readFileSync(path.join(launch!.dir, 'pid'), 'utf8'));
  const play = launch!.host_id === 'host-a' ? a : b;
  const other = play === a ? b : a;
  await stopProcess(play.child, 'SIGTERM');
  expect(processAlive(pid)).toBe(true);
  expect((await stack().call('POST', `/api/v1/runs/${runId}/cancel`, stack().token, {})).status).toBe(202);
  // While the play's host is away the run waits to stop it there: it does not say cancelled meanwhile.
  const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  try {
    const workflow = new Client({ connection, namespace: stack().env.TEMPORAL_NAMESPACE! }).workflow.getHandle(runId);
    const seen = await until('the run to wait for the play\'s host to stop it, or to end', async () => {
      const { raw, status } = await workflow.describe();
      if (status.name !== 'RUNNING') return `ended ${status.name}`;
      return raw.pendingActivities?.some((p) => p.activityType?.name === 'ansibleStopPlay') ? 'waiting' : undefined;
    }, 120_000, 100);
    expect(seen).toBe('waiting');
  } finally {
    await connection.close();
  }
  expect((await stack().status(runId)).status).not.toBe('cancelled');
  const back = await stack().worker(launch!.host_id);
  const final = await stack().ended(runId, 120_000);
  const stillRunning = processAlive(pid);
  const ranAfter = existsSync(mark('after'));
  const messages = (await stack().query<{ message: string }>(`select message from run_events where run_id = $1 order by seq`, [runId])).map((e) => e.message);
  const ok = final.status === 'cancelled' && !stillRunning && !ranAfter;
  recordFault({ fault: 'cancel while no attempt follows the play (ansible)', passed: ok ? 1 : 0, rounds: 1, detail: 'the play was interrupted on its host before the run reported cancelled; the task after it never ran' });
  expect(final.status).toBe('cancelled');
  expect(stillRunning).toBe(false);
  expect(messages.some((m) => m.startsWith('the play was stopped by the cancel'))).toBe(true);
  expect(ranAfter).toBe(false);
  await stopProcess(back.child, 'SIGKILL');
  await stopProcess(other.child, 'SIGKILL');
}, 300_000);

/** Whether a process of the SSH launch (its wrapper is named after the launch) still runs on the host, this machine. */
const launchAlive = (launchId: string) =>
  readdirSync('/proc').some((pid) => {
    try {
      return /^\d+$/.test(pid) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`opssight-launch:${launchId}`);
    } catch {
      return false;
    }
  });

// An SSH command: any worker can reach its host, so whichever worker runs the cancel stops it. Here the
// path to the host fails mid-command: the attempts fail and wait between retries, and the cancel comes
// in such a wait, when no attempt follows the command.
it('a cancel while no attempt follows an SSH command stops it on its host before the run is cancelled', async () => {
  const tag = crypto.randomUUID().slice(0, 8);
  const mark = (what: string) => path.join(hosts, `${tag}-ssh-${what}`);
  const link = await startCuttableLink(web1.port);
  const worker = await stack().worker('host-a');
  const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  try {
    const command = `echo started > ${mark('long')}; sleep 60; echo ran > ${mark('after')}`;
    const host = { ...hostOf(web1, 'web1', sshIntegration), port: link.port };
    const res = await stack().call('POST', '/api/v1/runs', stack().token, { kind: 'ssh-command', team: stack().team.slug, params: { hosts: [host], command } });
    expect(res.status).toBe(201);
    const runId = res.body.id as string;
    const workflow = new Client({ connection, namespace: stack().env.TEMPORAL_NAMESPACE! }).workflow.getHandle(runId);
    const pending = async (type: string) => (await workflow.describe()).raw.pendingActivities?.find((p) => p.activityType?.name === type);
    await until('the command to start', async () => (existsSync(mark('long')) ? true : undefined), 120_000, 20);
    const [launch] = await stack().query<{ id: string }>(`select id from run_processes where run_id = $1 and command = 'ssh'`, [runId]);
    link.cut();
    // Between attempts: a later one has failed to reach the host and waits for its retry.
    await until('an attempt to wait for its retry', async () => {
      const p = await pending('sshCommandHost');
      return p && (p.attempt ?? 0) >= 2 && p.state === proto.temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED ? true : undefined;
    }, 120_000, 50);
    expect(launchAlive(launch!.id)).toBe(true);
    expect((await stack().call('POST', `/api/v1/runs/${runId}/cancel`, stack().token, {})).status).toBe(202);
    // The run tries to stop the command, and does not say cancelled while it cannot reach the host.
    const seen = await until('the run to try to stop the command, or to end', async () => {
      if ((await workflow.describe()).status.name !== 'RUNNING') return 'ended';
      return (await pending('sshCommandStop')) ? 'stopping' : undefined;
    }, 120_000, 50);
    expect(seen).toBe('stopping');
    expect((await stack().status(runId)).status).not.toBe('cancelled');
    link.restore();
    const final = await stack().ended(runId, 120_000);
    const stillRunning = launchAlive(launch!.id);
    const steps = (await stack().query<{ message: string }>(`select message from run_events where run_id = $1 and type = 'step' order by seq`, [runId])).map((e) => e.message);
    const ok = final.status === 'cancelled' && !stillRunning && !existsSync(mark('after'));
    recordFault({ fault: 'cancel while no attempt follows an SSH command', passed: ok ? 1 : 0, rounds: 1, detail: 'the path to the host cut mid-command, the run cancelled between retries: the command was stopped there once the host was reachable, before the run reported cancelled; what came after it never ran' });
    expect(final.status).toBe('cancelled');
    expect(stillRunning).toBe(false);
    expect(steps).toContain('web1: stopped on a cancel (exit code 143)');
    expect(existsSync(mark('after'))).toBe(false);
  } finally {
    await connection.close();
    await link.close();
    await stopProcess(worker.child, 'SIGKILL');
  }
}, 300_000);
