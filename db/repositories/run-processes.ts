import { UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/postgresql';
import { RunProcessSchema, RunSchema, type RunProcess } from '../entities/index.ts';

/** Another attempt recorded this launch first: it owns the process, this one must attach or judge. */
export class LaunchTakenError extends Error {
  constructor() {
    super('launch already recorded');
  }
}

export async function latestLaunch(em: EntityManager, runId: string, step: string, command: string): Promise<RunProcess | null> {
  return em.findOne(RunProcessSchema, { run: runId, step, command }, { orderBy: { launch: 'desc' } });
}

export async function launchById(em: EntityManager, id: string): Promise<RunProcess | null> {
  return em.findOne(RunProcessSchema, { id });
}

export async function recordLaunch(
  em: EntityManager,
  input: { id: string; runId: string; step: string; command: string; launch: number; sideEffects: boolean; hostId: string; dir: string },
): Promise<RunProcess> {
  const row = em.create(RunProcessSchema, {
    id: input.id,
    run: em.getReference(RunSchema, input.runId),
    step: input.step,
    command: input.command,
    launch: input.launch,
    sideEffects: input.sideEffects,
    hostId: input.hostId,
    dir: input.dir,
  });
  try {
    await em.flush();
  } catch (err) {
    if (err instanceof UniqueConstraintViolationException) throw new LaunchTakenError();
    throw err;
  }
  return row;
}

export async function recordEnding(em: EntityManager, id: string, ending: { outcome: string; exitCode: number | null }): Promise<void> {
  await em.nativeUpdate(RunProcessSchema, { id }, { outcome: ending.outcome, exitCode: ending.exitCode, endedAt: new Date() });
}

/** Hosts that ran processes of this run: where its work directories may still be. */
export async function hostsOfRun(em: EntityManager, runId: string): Promise<string[]> {
  const rows = await em.getConnection().execute<{ host_id: string }[]>('select distinct host_id from run_processes where run_id = ?', [runId]);
  return rows.map((r) => r.host_id);
}
