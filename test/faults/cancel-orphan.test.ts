import { expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { until } from '../fixtures/until.ts';
import { stopProcess } from '../peers/processes.ts';
import { useFaultStack } from './stack.ts';
import { recordFault } from './report.ts';

// An apply outlives its worker; the run is cancelled while no attempt follows it (the next one is
// waiting for the launch's host). The cancel must reach that process before the run says `cancelled`.
// A long heartbeat timeout gives the host's worker time to come back before the host counts as gone.
const stack = useFaultStack({ workers: 0, env: { HEARTBEAT_TIMEOUT_SECONDS: '20' } });

/** x takes a minute (longer than a worker's shutdown grace), then y; each reports its creation. */
const xThenY = (tag: string) => ({
  'main.tf': `
resource "terraform_data" "x" {
  provisioner "local-exec" {
    command = "${stack().effects.command(`${tag}/x`)} && sleep 60"
  }
}
resource "terraform_data" "y" {
  depends_on = [terraform_data.x]
  provisioner "local-exec" {
    command = "${stack().effects.command(`${tag}/y`)}"
  }
}
`,
});

/** Whether the wrapper still runs: a zombie (exited, not yet reaped by init) has an empty command line. */
const alive = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8') !== '';
  } catch {
    return false;
  }
};

it('a cancel while no attempt follows the apply interrupts it on its host before the run is cancelled', async () => {
  const tag = crypto.randomUUID().slice(0, 8);
  const a = await stack().worker('host-a');
  const b = await stack().worker('host-b');
  const runId = await stack().startRun({ workspace: `orphan-${tag}`, files: xThenY(tag), autoApply: true });
  await until('the apply to start', async () => (stack().effects.counts.has(`${tag}/x`) ? true : undefined), 120_000, 20);
  const [launch] = await stack().query<{ dir: string; host_id: string }>(`select dir, host_id from run_processes where run_id = $1 and command = 'apply'`, [runId]);
  const pid = Number(readFileSync(path.join(launch!.dir, 'pid'), 'utf8'));
  // Host A's worker may have taken the run; the apply ran where its launch is recorded.
  const apply = launch!.host_id === 'host-a' ? a : b;
  const other = apply === a ? b : a;
  const applyHost = launch!.host_id;
  // A worker shutting down leaves its process to the next attempt (after its grace time), which can only
  // follow it on this host.
  await stopProcess(apply.child, 'SIGTERM');
  expect(alive(pid)).toBe(true);
  expect((await stack().call('POST', `/api/v1/runs/${runId}/cancel`, stack().token, {})).status).toBe(202);
  // The other host's worker takes the cancel; the launch's host is back a moment later.
  const back = await stack().worker(applyHost);
  const final = await stack().ended(runId, 120_000);
  const stillRunning = alive(pid);
  const created = ['x', 'y'].map((n) => stack().effects.counts.get(`${tag}/${n}`) ?? 0);
  const messages = (await stack().query<{ message: string }>(`select message from run_events where run_id = $1 order by seq`, [runId])).map((e) => e.message);
  const ok = final.status === 'cancelled' && !stillRunning && created[1] === 0;
  recordFault({ fault: 'cancel while no attempt follows the apply', passed: ok ? 1 : 0, rounds: 1, detail: 'the launch was interrupted on its host before the run reported cancelled; nothing after it was applied' });
  expect(final.status).toBe('cancelled');
  expect(stillRunning).toBe(false);
  expect(messages.some((m) => m.includes('Interrupt received'))).toBe(true);
  // y was to be created after x: the interrupted apply never got there, and nothing made it later.
  expect(created).toEqual([1, 0]);
  await stopProcess(back.child, 'SIGKILL');
  await stopProcess(other.child, 'SIGKILL');
}, 300_000);
