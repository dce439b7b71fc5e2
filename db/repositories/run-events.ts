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
 * Appends events and assigns their seq in one transaction. The UPDATE takes the run row's lock, so
 * batches of one run commit in seq order: whoever sees seq N committed can read every seq < N.
 */
export async function insertRunEvents(em: EntityManager, runId: string, events: NewRunEvent[]): Promise<RunEvent[]> {
  if (events.length === 0) return [];
  return em.transactional((tx) => insertRunEventsIn(tx, runId, events));
}

/** As insertRunEvents, within the transaction `tx` already runs in (a run's first event, with the run). */
export async function insertRunEventsIn(tx: EntityManager, runId: string, events: NewRunEvent[]): Promise<RunEvent[]> {
  if (events.length === 0) return [];
  {
    const updated = await tx.execute<{ last_seq: number }[]>(
      'update runs set last_seq = last_seq + ? where id = ? returning last_seq',
      [events.length, runId],
    );
    const last = updated[0]?.last_seq;
    if (last === undefined) throw new Error(`run ${runId} does not exist`);
    const first = last - events.length + 1;
    const now = new Date().toISOString();
    const stored: RunEvent[] = events.map((e, i) => ({ ...e, runId, seq: first + i, ts: e.ts ?? now }));
    const values = stored.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ');
    const params = stored.flatMap((e) => [
      runId,
      e.seq,
      e.ts,
      e.type,
      e.level,
      e.stream ?? null,
      e.message,
      e.data ? JSON.stringify(e.data) : null,
      e.attempt,
    ]);
    await tx.execute(
      `insert into run_events (run_id, seq, ts, type, level, stream, message, data, attempt) values ${values}`,
      params,
    );
    return stored;
  }
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
