import type { EntityManager } from '@mikro-orm/postgresql';
import type { NewRunEvent, RunEvent } from '../../contracts/events.ts';

type Row = {
  run_id: string;
  seq: number;
  ts: Date;
  type: RunEvent['type'];
  level: RunEvent['level'];
  stream: RunEvent['stream'] | null;
  message: string;
  data: Record<string, unknown> | null;
  attempt: number;
};

const toEvent = (r: Row): RunEvent => ({
  runId: r.run_id,
  seq: r.seq,
  ts: new Date(r.ts).toISOString(),
  type: r.type,
  level: r.level,
  ...(r.stream ? { stream: r.stream } : {}),
  message: r.message,
  ...(r.data ? { data: r.data } : {}),
  attempt: r.attempt,
});

/**
 * Appends events and assigns their seq in one statement (a transaction of its own, or part of the
 * caller's). The UPDATE in it takes the run row's lock, so batches of one run commit in seq order:
 * whoever sees seq N committed can read every seq < N. One statement rather than UPDATE then INSERT
 * inside BEGIN/COMMIT: one round trip to PostgreSQL instead of four, for every batch of every run.
 */
export async function insertRunEvents(em: EntityManager, runId: string, events: NewRunEvent[]): Promise<RunEvent[]> {
  if (events.length === 0) return [];
  const now = new Date().toISOString();
  const n = events.length;
  // The rows join the UPDATE's result, so a run that does not exist inserts nothing.
  const row = '(?::int, ?::timestamptz, ?::text, ?::text, ?::text, ?::text, ?::jsonb, ?::int)';
  const params = events.flatMap((e, i) => [n - 1 - i, e.ts ?? now, e.type, e.level, e.stream ?? null, e.message, e.data ? JSON.stringify(e.data) : null, e.attempt]);
  const inserted = await em.execute<{ seq: number }[]>(
    `with s as (update runs set last_seq = last_seq + ? where id = ? returning last_seq)
     insert into run_events (run_id, seq, ts, type, level, stream, message, data, attempt)
     select ?::uuid, s.last_seq - v.back, v.ts, v.type, v.level, v.stream, v.message, v.data, v.attempt
     from s, (values ${events.map(() => row).join(', ')}) as v (back, ts, type, level, stream, message, data, attempt)
     returning seq`,
    [n, runId, runId, ...params],
  );
  if (inserted.length === 0) throw new Error(`run ${runId} does not exist`);
  const first = inserted.reduce((min, r) => Math.min(min, r.seq), Infinity);
  return events.map((e, i) => ({ ...e, runId, seq: first + i, ts: e.ts ?? now }));
}

export async function listRunEvents(em: EntityManager, runId: string, after: number, limit: number): Promise<RunEvent[]> {
  const rows = await em.execute<Row[]>(
    'select run_id, seq, ts, type, level, stream, message, data, attempt from run_events where run_id = ? and seq > ? order by seq limit ?',
    [runId, after, limit],
  );
  return rows.map(toEvent);
}

/**
 * How far the event store holds a launch's output files: per stream, the byte offset just after the
 * last stored line (0 when none). A reader resuming from here neither repeats nor skips a line.
 */
export async function storedOutputOffsets(em: EntityManager, runId: string, procId: string): Promise<{ stdout: number; stderr: number }> {
  const rows = await em.execute<{ stream: string; off: string }[]>(
    `select stream, max((data->>'off')::bigint) as off from run_events
      where run_id = ? and type in ('log', 'step') and data->>'proc' = ? group by stream`,
    [runId, procId],
  );
  const offsets = { stdout: 0, stderr: 0 };
  for (const r of rows) if (r.stream === 'stdout' || r.stream === 'stderr') offsets[r.stream] = Number(r.off);
  return offsets;
}

/** The stored output lines of one launch, in order: what it reported before it ended or vanished. */
export async function storedOutput(em: EntityManager, runId: string, procId: string): Promise<Array<{ stream: string; message: string }>> {
  return em.execute<Array<{ stream: string; message: string }>>(
    `select stream, message from run_events where run_id = ? and type = 'log' and data->>'proc' = ? order by seq`,
    [runId, procId],
  );
}
