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
  return em.transactional(async (tx) => {
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
  });
}

export async function listRunEvents(em: EntityManager, runId: string, after: number, limit: number): Promise<RunEvent[]> {
  const rows = await em.execute<Row[]>(
    'select run_id, seq, ts, type, level, stream, message, data, attempt from run_events where run_id = ? and seq > ? order by seq limit ?',
    [runId, after, limit],
  );
  return rows.map(toEvent);
}
