import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { createProcessActivities, sweepEndedRuns, type EndedLaunch } from '../../activities/process/index.ts';
import { launch, recordedExit, recordedPid } from '../../activities/process/launch.ts';
import { createLogger } from '../../core/logger.ts';
import { initOrm, type Db } from '../../db/orm.ts';
import { recordLaunch } from '../../db/repositories/run-processes.ts';
import { createRunRow, createRunWithTeam } from '../fixtures/runs.ts';
import { until } from '../fixtures/until.ts';

// A worker starting on a host removes the files of runs that ended while it was away; a process of
// such a run may still be running there (its host did not answer the cancel), and must not have its
// directory removed under it.
const workRoot = mkdtempSync(path.join(os.tmpdir(), 'opssight-sweep-'));
let db: Db;
beforeAll(async () => {
  db = await initOrm(process.env.DATABASE_URL!, { poolMax: 2 });
});
afterAll(async () => {
  await db.close();
  rmSync(workRoot, { recursive: true, force: true });
});

it('interrupts a live process of an ended run and keeps its files until it has stopped, then removes them', async () => {
  const runId = await createRunRow(db.em);
  const ctlDir = path.join(workRoot, runId, 'apply-1', 'ctl-apply-1');
  mkdirSync(ctlDir, { recursive: true });
  const proc = await recordLaunch(db.em.fork(), { id: crypto.randomUUID(), runId, step: 'apply-1', command: 'apply', launch: 1, sideEffects: true, hostId: 'h', dir: ctlDir });
  // Stops on SIGINT and says so, as terraform does.
  await launch({ procId: proc.id, ctlDir, cwd: workRoot, bin: '/bin/sh', args: ['-c', "trap 'echo interrupted; exit 130' INT; sleep 60 & wait"], env: { PATH: process.env.PATH! }, sandbox: null, header: '$ apply' });
  await db.em.getConnection().execute(`update runs set status = 'cancelled' where id = ?`, [runId]);
  const deps = { workRoot, em: db.em, logger: createLogger({ level: 'silent', name: 'sweep-test' }) };

  expect(await sweepEndedRuns(deps)).toBe(0);
  expect(existsSync(ctlDir)).toBe(true);
  expect(await until('the process to stop on the interrupt', async () => (await recordedExit(ctlDir)) ?? undefined, 10_000)).toBe(130);

  expect(await sweepEndedRuns(deps)).toBe(1);
  expect(existsSync(path.join(workRoot, runId))).toBe(false);
});

/** A launch of `runId` running here that stops on SIGINT and says so, as terraform does. */
async function liveLaunch(runId: string, step: string, command: string, sideEffects: boolean) {
  const ctlDir = path.join(workRoot, runId, step, `ctl-${command}-1`);
  mkdirSync(ctlDir, { recursive: true });
  const proc = await recordLaunch(db.em.fork(), { id: crypto.randomUUID(), runId, step, command, launch: 1, sideEffects, hostId: 'h', dir: ctlDir });
  await launch({ procId: proc.id, ctlDir, cwd: workRoot, bin: '/bin/sh', args: ['-c', "trap 'echo interrupted; exit 130' INT; sleep 60 & wait"], env: { PATH: process.env.PATH! }, sandbox: null, header: `$ ${command}` });
  // The wrapper writes its pid file a moment after its start; until then nothing can find it running.
  await until('the launch to record its pid', async () => (await recordedPid(ctlDir)) ?? undefined, 10_000);
  return { id: proc.id, ctlDir };
}

it('hands a live process with side effects to its kind, and interrupts one without (a plan) itself', async () => {
  const { runId, teamId } = await createRunWithTeam(db.em);
  const apply = await liveLaunch(runId, 'apply-p1', 'apply', true);
  const plan = await liveLaunch(runId, 'plan-1', 'plan', false);
  await db.em.getConnection().execute(`update runs set status = 'cancelled' where id = ?`, [runId]);
  const handed: EndedLaunch[] = [];
  const deps = { workRoot, em: db.em, logger: createLogger({ level: 'silent', name: 'sweep-test' }) };

  expect(await sweepEndedRuns(deps, async (l) => (handed.push(l), true))).toBe(0);
  expect(handed).toEqual([{ id: apply.id, runId, teamId, kind: 'terraform', step: 'apply-p1', command: 'apply', params: expect.any(Object) }]);
  expect(await until('the plan to stop on the interrupt', async () => (await recordedExit(plan.ctlDir)) ?? undefined, 10_000)).toBe(130);
  // The apply is its kind's to stop: nothing interrupted it here, and its files stay while it runs,
  // whoever asks (the run's end releasing its files on every host included).
  expect(await recordedExit(apply.ctlDir)).toBeNull();
  await createProcessActivities(deps).releaseRunFiles({ runId });
  expect(existsSync(apply.ctlDir)).toBe(true);

  // Declined (Temporal refused the hand-off): interrupted here after all.
  expect(await sweepEndedRuns(deps, async () => false)).toBe(0);
  expect(await until('the apply to stop on the interrupt', async () => (await recordedExit(apply.ctlDir)) ?? undefined, 10_000)).toBe(130);
  await createProcessActivities(deps).releaseRunFiles({ runId });
  expect(existsSync(path.join(workRoot, runId))).toBe(false);
});

it('interrupts every live process of a run on this host when its kind could not stop it', async () => {
  const runId = await createRunRow(db.em);
  const apply = await liveLaunch(runId, 'apply-p2', 'apply', true);
  const activities = createProcessActivities({ workRoot, em: db.em, logger: createLogger({ level: 'silent', name: 'sweep-test' }) });
  expect(await activities.interruptRunProcesses({ runId })).toBe(1);
  expect(await until('the apply to stop on the interrupt', async () => (await recordedExit(apply.ctlDir)) ?? undefined, 10_000)).toBe(130);
  expect(await activities.interruptRunProcesses({ runId })).toBe(0);
});
