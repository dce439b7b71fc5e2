import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { EntityManager } from '@mikro-orm/postgresql';
import { isTerminal, type RunStatus } from '../../contracts/runs.ts';
import type { Logger } from '../../core/logger.ts';
import { hostsOfRun } from '../../db/repositories/run-processes.ts';
import { isOurProcess } from './host.ts';
import { launchMarker, recordedPid, signalGroup } from './launch.ts';
import { within } from './sandbox-files.ts';

export type ProcessActivityDeps = { workRoot: string; em: EntityManager; logger: Logger };

/** A run's files on one host: `<WORK_DIR>/<runId>/`, and its sandbox uid lease. */
async function removeRunFiles(workRoot: string, runId: string): Promise<void> {
  await rm(path.join(workRoot, runId), { recursive: true, force: true });
  const leases = path.join(workRoot, '.uids');
  for (const name of await readdir(leases).catch(() => [] as string[])) {
    const file = path.join(leases, name);
    if ((await readFile(file, 'utf8').catch(() => '')) === runId) await rm(file, { force: true });
  }
}

export function createProcessActivities(deps: ProcessActivityDeps) {
  return {
    /** Hosts whose disks may still hold files of the run: where releaseRunFiles must go. */
    async runHosts(input: { runId: string }): Promise<string[]> {
      return hostsOfRun(deps.em.fork(), input.runId);
    },

    /** Removes what the run left on this host (dead attempts' work dirs, output files) and frees its uid. */
    async releaseRunFiles(input: { runId: string }): Promise<void> {
      await removeRunFiles(deps.workRoot, input.runId);
    },
  };
}

/**
 * At worker start: files of runs that have ended (their host was down when they did) are removed, so
 * saved plans and variables never outlive a run for long. A process of such a run still running here
 * (its run was cancelled while this host did not answer) is interrupted as a cancel would, and its
 * files are left until it has stopped: the next start removes them.
 */
export async function sweepEndedRuns(deps: ProcessActivityDeps): Promise<number> {
  const names = (await readdir(deps.workRoot).catch(() => [] as string[])).filter((n) => /^[0-9a-f-]{36}$/.test(n));
  if (names.length === 0) return 0;
  const conn = deps.em.fork().getConnection();
  const ids = `{${names.join(',')}}`;
  const rows = await conn.execute<{ id: string; status: RunStatus }[]>('select id, status from runs where id = any(?::uuid[])', [ids]);
  const status = new Map(rows.map((r) => [r.id, r.status]));
  const open = await conn.execute<{ id: string; run_id: string; dir: string }[]>('select id, run_id, dir from run_processes where run_id = any(?::uuid[]) and outcome is null', [ids]);
  let removed = 0;
  for (const runId of names) {
    const s = status.get(runId);
    // A run this database does not know may belong to another installation sharing the directory.
    if (s === undefined || !isTerminal(s)) continue;
    const live = await liveLaunches(open.filter((p) => p.run_id === runId && within(path.join(deps.workRoot, runId), p.dir)));
    if (live.length) {
      for (const pid of live) signalGroup(pid, 'SIGINT');
      deps.logger.warn({ runId, pids: live }, 'a process of a run that has ended was still running: interrupted it, keeping its files until it stops');
      continue;
    }
    await removeRunFiles(deps.workRoot, runId);
    removed++;
  }
  if (removed) deps.logger.info({ removed }, 'removed work files of runs that have ended');
  return removed;
}

/** The wrapper pids of those launches still running on this host. */
async function liveLaunches(launches: { id: string; dir: string }[]): Promise<number[]> {
  const live: number[] = [];
  for (const l of launches) {
    const pid = await recordedPid(l.dir);
    if (pid !== null && (await isOurProcess(pid, launchMarker(l.id)))) live.push(pid);
  }
  return live;
}
