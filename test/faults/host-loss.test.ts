import { expect, it } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { until } from '../fixtures/until.ts';
import { processAlive, stopProcess } from '../peers/processes.ts';
import { countedResources, useFaultStack, xThenY } from './stack.ts';
import { recordFault } from './report.ts';
import { expectStoppedMidProvisioner, stoppedMidProvisioner } from '../fixtures/terraform/configs.ts';

// Two hosts (own host ids and work dirs). An apply's process lives on the host that started it; when
// that host's worker dies, the other host cannot follow the process, so it waits until host A is
// taken as gone and then decides from the state: its lock, serial and lineage.
const stack = useFaultStack({ workers: 0 });

/** The wrapper of the run's apply (the leader of terraform's process group), from the launch's record. */
async function applyPid(runId: string): Promise<{ pid: number; hostId: string }> {
  const [launch] = await stack().query<{ dir: string; host_id: string }>(`select dir, host_id from run_processes where run_id = $1 and command = 'apply'`, [runId]);
  return { pid: Number(readFileSync(path.join(launch!.dir, 'pid'), 'utf8')), hostId: launch!.host_id };
}

/** An apply under way on host A, its resources taking 8 s each; host B's worker is not started yet. */
async function applyOnHostA(tag: string, names: string[]) {
  const a = await stack().worker('host-a');
  const runId = await stack().startRun({ workspace: `host-${tag}`, files: countedResources(stack().effects, tag, names, 8), autoApply: true });
  await stack().untilRuns([runId], 'the apply to start on host A', async () => (stack().effects.counts.has(`${tag}/${names[0]}`) ? true : undefined), 120_000, 20);
  return { a, runId };
}

it('a worker dies on host A, its apply lives on: host B waits for the state lock and finishes without applying again', async () => {
  const tag = crypto.randomUUID().slice(0, 8);
  const names = ['x', 'y'];
  const { a, runId } = await applyOnHostA(tag, names);
  await stopProcess(a.child, 'SIGKILL');
  const b = await stack().worker('host-b');
  const final = await stack().ended(runId);
  const created = names.map((n) => stack().effects.counts.get(`${tag}/${n}`) ?? 0);
  recordFault({ fault: 'worker kill -9, retry on another host', passed: final.status === 'succeeded' && created.every((c) => c === 1) ? 1 : 0, rounds: 1, detail: 'host A taken as gone, the orphaned apply finished, B re-planned from the saved state: no changes' });
  expect(final).toMatchObject({ status: 'succeeded' });
  expect(created).toEqual([1, 1]);
  await stopProcess(b.child, 'SIGKILL');
}, 300_000);

it('host A dies with its apply: the run stops and names what may exist outside the state, nothing is applied twice', async () => {
  const tag = crypto.randomUUID().slice(0, 8);
  const names = ['p', 'q'];
  const { a, runId } = await applyOnHostA(tag, names);
  // The case under test is a host lost after its output showed a resource starting: wait until that line
  // is stored (the effect can start a moment before it is). Lost before it, the platform rightly sees no
  // resource started and launches the apply again (docs/durability.md), which is the other case.
  await stack().untilRuns([runId], 'the stored output to show p being created', async () => ((await stack().logLines(runId)).some((l) => /terraform_data\.p.*Creating/.test(l.message)) ? true : undefined), 60_000, 20);
  // The whole host: the worker and every process it started.
  const apply = await applyPid(runId);
  expect(apply.hostId).toBe('host-a');
  process.kill(-apply.pid, 'SIGKILL');
  await stopProcess(a.child, 'SIGKILL');
  const b = await stack().worker('host-b');
  const final = await stack().ended(runId);
  const created = names.map((n) => stack().effects.counts.get(`${tag}/${n}`) ?? 0);
  const ok = final.status === 'failed' && /terraform_data\.p/.test(final.error ?? '') && /import/.test(final.error ?? '') && created.every((c) => c <= 1);
  recordFault({ fault: 'host lost mid-apply (worker and terraform killed)', passed: ok ? 1 : 0, rounds: 1, detail: 'run failed naming the resources that may exist outside the state; nothing applied again' });
  expect(final.status).toBe('failed');
  expect(final.error).toMatch(/started changing .*terraform_data\.p.*the state records none of it/s);
  expect(created.every((c) => c <= 1)).toBe(true);
  await stopProcess(b.child, 'SIGKILL');
}, 300_000);

it('a run cancelled while its apply\'s host is away: when that host\'s worker starts, the apply is stopped there and what it printed is stored', async () => {
  const tag = crypto.randomUUID().slice(0, 8);
  const a = await stack().worker('host-a');
  const runId = await stack().startRun({ workspace: `away-${tag}`, files: xThenY(stack().effects, tag), autoApply: true });
  await stack().untilRuns([runId], 'the apply to start on host A', async () => (stack().effects.counts.has(`${tag}/x`) ? true : undefined), 120_000, 20);
  const apply = await applyPid(runId);
  await stopProcess(a.child, 'SIGKILL');
  // Host A stays away past the host wait: the run ends cancelled, saying terraform may still run there.
  const b = await stack().worker('host-b');
  expect((await stack().call('POST', `/api/v1/runs/${runId}/cancel`, stack().token, {})).status).toBe(202);
  const final = await stack().ended(runId, 120_000);
  expect(final.status).toBe('cancelled');
  const messages = async () => (await stack().query<{ message: string }>(`select message from run_events where run_id = $1 order by seq`, [runId])).map((e) => e.message);
  expect((await messages()).some((m) => m.includes('could not be stopped: that host does not answer'))).toBe(true);
  expect(processAlive(apply.pid)).toBe(true);

  // Host A's worker starts again: it finds the apply of the ended run still running and hands it to its kind.
  const back = await stack().worker('host-a');
  const note = await stack().untilRuns([runId], 'the stop to say what the apply left', async () => (await messages()).find((m) => m.startsWith('the apply still running on host host-a')), 120_000, 100);
  const stored = await messages();
  const created = ['x', 'y'].map((n) => stack().effects.counts.get(`${tag}/${n}`) ?? 0);
  const filesLeft = await until('the run\'s files on host A to go', async () => (existsSync(path.join(stack().workDirs.get('host-a')!, runId)) ? undefined : false), 60_000, 100);
  const ok = !processAlive(apply.pid) && created[1] === 0 && stoppedMidProvisioner(stored) && !filesLeft;
  recordFault({ fault: 'cancel while the apply\'s host is away, the host back later', passed: ok ? 1 : 0, rounds: 1, detail: 'run cancelled naming the host; when the host\'s worker started, the apply was interrupted there, its output stored and what it had begun named; nothing after it applied; its files removed' });
  expect(note).toMatch(/was interrupted there and has stopped \(exit code \d+\): it had begun changing terraform_data\.x/);
  expect(processAlive(apply.pid)).toBe(false);
  // What terraform printed after its worker died is in the run's events, up to its interruption's end.
  expectStoppedMidProvisioner(stored);
  expect(created).toEqual([1, 0]);
  await stopProcess(back.child, 'SIGKILL');
  await stopProcess(b.child, 'SIGKILL');
}, 300_000);
