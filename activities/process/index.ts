import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { EntityManager } from '@mikro-orm/postgresql';
import { isTerminal, type RunStatus } from '../../contracts/runs.ts';
import type { Logger } from '../../core/logger.ts';
import { hostsOfRun } from '../../db/repositories/run-processes.ts';
import { isOurProcess } from './host.ts';
import { launchMarker, recordedPid, signalLaunch } from './launch.ts';
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

/** The run's launches still running on this host (recorded without an ending, their wrapper alive). */
async function liveLaunchesOf(deps: ProcessActivityDeps, runId: string) {
  const open = await deps.em.fork().getConnection().execute<{ id: string; dir: string }[]>('select id, dir from run_processes where run_id = ? and outcome is null', [runId]);
  return liveLaunches(open.filter((p) => within(path.join(deps.workRoot, runId), p.dir)));
}

export function createProcessActivities(deps: ProcessActivityDeps) {
  return {
    /** Hosts whose disks may still hold files of the run: where releaseRunFiles must go. */
    async runHosts(input: { runId: string }): Promise<string[]> {
      return hostsOfRun(deps.em.fork(), input.runId);
    },

    /**
     * Removes what the run left on this host (dead attempts' work dirs, output files) and frees its uid;
     * unless a process of the run still runs here (its cancel could not reach this host in time): its
     * files are what it writes to and what its stop reads, and go once it has stopped (stopEndedLaunch).
     */
    async releaseRunFiles(input: { runId: string }): Promise<void> {
      const live = await liveLaunchesOf(deps, input.runId);
      if (live.length) {
        deps.logger.warn({ runId: input.runId, pids: live.map((l) => l.pid) }, 'a process of the run still runs here: its files are kept until it stops');
        return;
      }
      await removeRunFiles(deps.workRoot, input.runId);
    },

    /** Every process of the run still running on this host, interrupted (SIGINT to it and all below it) as a cancel would. */
    async interruptRunProcesses(input: { runId: string }): Promise<number> {
      const live = await liveLaunchesOf(deps, input.runId);
      for (const { pid } of live) await signalLaunch(pid, 'SIGINT');
      return live.length;
    },
  };
}

/** A process of an ended run still running on this host, with what its kind needs to stop it. */
export type EndedLaunch = { id: string; runId: string; teamId: string; kind: string; step: string; command: string; params: Record<string, unknown> };

/**
 * At worker start: files of runs that have ended (their host was down when they did) are removed, so
 * saved plans and variables never outlive a run for long. A process of such a run still running here
 * (its run was cancelled while this host did not answer) is handed to `stop` when it has side effects
 * (the kind stops it durably, storing its output: workers/ended-launches.ts); otherwise, or when
 * `stop` declines, it is interrupted here as a cancel would. Its files stay until it has stopped.
 */
export async function sweepEndedRuns(deps: ProcessActivityDeps, stop?: (launch: EndedLaunch) => Promise<boolean>): Promise<number> {
  const names = (await readdir(deps.workRoot).catch(() => [] as string[])).filter((n) => /^[0-9a-f-]{36}$/.test(n));
  if (names.length === 0) return 0;
  const conn = deps.em.fork().getConnection();
  const ids = `{${names.join(',')}}`;
  const rows = await conn.execute<{ id: string; status: RunStatus; kind: string; team_id: string; params: Record<string, unknown> }[]>(
    'select id, status, kind, team_id, params from runs where id = any(?::uuid[])',
    [ids],
  );
  const runs = new Map(rows.map((r) => [r.id, r]));
  const open = await conn.execute<{ id: string; run_id: string; dir: string; step: string; command: string; side_effects: boolean }[]>(
    'select id, run_id, dir, step, command, side_effects from run_processes where run_id = any(?::uuid[]) and outcome is null',
    [ids],
  );
  let removed = 0;
  for (const runId of names) {
    const run = runs.get(runId);
    // A run this database does not know may belong to another installation sharing the directory.
    if (run === undefined || !isTerminal(run.status)) continue;
    const live = await liveLaunches(open.filter((p) => p.run_id === runId && within(path.join(deps.workRoot, runId), p.dir)));
    if (live.length) {
      for (const { launch, pid } of live) {
        const handed = launch.side_effects && stop ? await stop({ id: launch.id, runId, teamId: run.team_id, kind: run.kind, step: launch.step, command: launch.command, params: run.params }) : false;
        if (!handed) await signalLaunch(pid, 'SIGINT');
        deps.logger.warn({ runId, pid, launch: launch.id, handed }, `a process of a run that has ended was still running: ${handed ? 'its kind stops it' : 'interrupted it'}, keeping its files until it stops`);
      }
      continue;
    }
    await removeRunFiles(deps.workRoot, runId);
    removed++;
  }
  if (removed) deps.logger.info({ removed }, 'removed work files of runs that have ended');
  return removed;
}

/** Those launches still running on this host, with their wrapper pids. */
async function liveLaunches<L extends { id: string; dir: string }>(launches: L[]): Promise<Array<{ launch: L; pid: number }>> {
  const live: Array<{ launch: L; pid: number }> = [];
  for (const launch of launches) {
    const pid = await recordedPid(launch.dir);
    if (pid !== null && (await isOurProcess(pid, launchMarker(launch.id)))) live.push({ launch, pid });
  }
  return live;
}
