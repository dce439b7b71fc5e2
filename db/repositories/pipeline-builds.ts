import type { EntityManager } from '@mikro-orm/postgresql';

/** What PostgreSQL knows of a pipeline run's external build (db/migrations/Migration20261129050000.ts). */
export type PipelineBuildRow = {
  triggeredAt: Date;
  triggers: number;
  queueId: number | null;
  buildId: string | null;
  buildUrl: string | null;
};

type Sql = { triggered_at: Date; triggers: number; queue_id: string | null; build_id: string | null; build_url: string | null };
const toRow = (r: Sql): PipelineBuildRow => ({
  triggeredAt: new Date(r.triggered_at),
  triggers: r.triggers,
  queueId: r.queue_id === null ? null : Number(r.queue_id),
  buildId: r.build_id,
  buildUrl: r.build_url,
});

export async function findPipelineBuild(em: EntityManager, runId: string): Promise<PipelineBuildRow | null> {
  const rows = await em.execute<Sql[]>('select triggered_at, triggers, queue_id, build_id, build_url from pipeline_builds where run_id = ?', [runId]);
  return rows[0] ? toRow(rows[0]) : null;
}

/**
 * Records, before the HTTP call, that a trigger is being made now; committed on its own so a worker
 * killed during the call leaves the record behind. Refused (null) once the run has a build.
 */
export async function recordTrigger(em: EntityManager, runId: string, provider: string): Promise<PipelineBuildRow | null> {
  const rows = await em.execute<Sql[]>(
    `insert into pipeline_builds (run_id, provider, triggered_at) values (?, ?, now())
     on conflict (run_id) do update set triggered_at = now(), triggers = pipeline_builds.triggers + 1, queue_id = null
       where pipeline_builds.build_id is null
     returning triggered_at, triggers, queue_id, build_id, build_url`,
    [runId, provider],
  );
  return rows[0] ? toRow(rows[0]) : null;
}

/** The trigger was refused outright (the CI system answered that it did not act): nothing is left to find. */
export async function forgetTrigger(em: EntityManager, runId: string): Promise<void> {
  await em.execute('delete from pipeline_builds where run_id = ? and build_id is null', [runId]);
}

/**
 * GitHub: another run's dispatch of the same workflow and ref, made in the last `withinMs`, whose
 * outcome is not known (no build claimed yet). Its build would be indistinguishable from one this run
 * dispatches, so this run waits for it to be settled first (docs/pipeline.md).
 */
export async function unsettledDispatch(em: EntityManager, runId: string, pipeline: { repository: string; workflow: string; ref: string }, withinMs: number): Promise<string | null> {
  const rows = await em.execute<{ run_id: string }[]>(
    `select b.run_id from pipeline_builds b join runs r on r.id = b.run_id
      where b.provider = 'github' and b.build_id is null and b.run_id <> ?
        and b.triggered_at > now() - make_interval(secs => ?)
        and lower(r.params->>'repository') = lower(?) and r.params->>'workflow' = ? and r.params->>'ref' = ?
      order by b.triggered_at limit 1`,
    [runId, withinMs / 1000, pipeline.repository, pipeline.workflow, pipeline.ref],
  );
  return rows[0]?.run_id ?? null;
}

/**
 * Jenkins: the queue item the trigger answered, recorded as soon as it is known. Answers the earlier
 * run (of the same integration) that recorded the same item, if one did: Jenkins folds a request
 * identical to one still waiting in its queue into that item, so both runs would get one build.
 */
export async function recordQueueItem(em: EntityManager, runId: string, queueId: number, integrationId: string): Promise<string | null> {
  await em.execute('update pipeline_builds set queue_id = ? where run_id = ? and build_id is null', [queueId, runId]);
  // Only a run that triggered earlier counts: of two that record at the same moment, the later one gives way.
  const other = await em.execute<{ run_id: string }[]>(
    `select b.run_id from pipeline_builds b join runs r on r.id = b.run_id, pipeline_builds mine
      where mine.run_id = ? and b.queue_id = ? and b.run_id <> mine.run_id and r.params->>'integration' = ?
        and (b.triggered_at, b.run_id) < (mine.triggered_at, mine.run_id)
      order by b.triggered_at limit 1`,
    [runId, queueId, integrationId],
  );
  return other[0]?.run_id ?? null;
}

/**
 * Claims a build for the run: false when another run holds it already (the unique build_key), so two
 * runs can never follow the same build. Claiming the build the run already holds answers true.
 */
export async function claimBuild(em: EntityManager, runId: string, build: { key: string; id: string; url: string }): Promise<boolean> {
  const rows = await em.execute<{ run_id: string }[]>(
    `update pipeline_builds set build_key = ?, build_id = ?, build_url = ?
      where run_id = ? and (build_id is null or build_key = ?)
        and not exists (select 1 from pipeline_builds o where o.build_key = ? and o.run_id <> ?)
      returning run_id`,
    [build.key, build.id, build.url, runId, build.key, build.key, runId],
  ).catch((err: { code?: string }) => {
    // Two runs claiming the same build in the same instant: the unique index lets one through.
    if (err.code === '23505') return [];
    throw err;
  });
  return rows.length === 1;
}

/** Of these build keys, the ones some run has claimed. */
export async function claimedKeys(em: EntityManager, keys: string[]): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  const rows = await em.execute<{ build_key: string }[]>(`select build_key from pipeline_builds where build_key in (${keys.map(() => '?').join(', ')})`, keys);
  return new Set(rows.map((r) => r.build_key));
}

/** Where a run's stored pipeline log has reached: per source (a GitHub job, a Jenkins build), the highest `off` stored. */
export async function storedLogOffsets(em: EntityManager, runId: string): Promise<Map<string, number>> {
  const rows = await em.execute<{ src: string; off: string }[]>(
    `select data->>'src' as src, max((data->>'off')::bigint) as off from run_events
      where run_id = ? and type = 'log' and data->>'src' is not null group by data->>'src'`,
    [runId],
  );
  return new Map(rows.map((r) => [r.src, Number(r.off)]));
}

/** The last state stored for each job, stage or step of the run's build (its `step` events), in the order they first appeared. */
export async function storedJobStates(em: EntityManager, runId: string): Promise<Map<string, string>> {
  const rows = await em.execute<{ key: string; state: string; first: string }[]>(
    `select distinct on (key) key, state, first from (
       select data->>'key' as key, data->>'state' as state, seq, min(seq) over (partition by data->>'key') as first
         from run_events where run_id = ? and type = 'step' and data->>'key' is not null) t
      order by key, seq desc`,
    [runId],
  );
  return new Map(rows.sort((a, b) => Number(a.first) - Number(b.first)).map((r) => [r.key, r.state]));
}
