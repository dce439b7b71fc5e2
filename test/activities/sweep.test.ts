import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { sweepEndedRuns } from '../../activities/process/index.ts';
import { launch, recordedExit } from '../../activities/process/launch.ts';
import { createLogger } from '../../core/logger.ts';
import { initOrm, type Db } from '../../db/orm.ts';
import { recordLaunch } from '../../db/repositories/run-processes.ts';
import { createRunRow } from '../fixtures/runs.ts';
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
