import type { Logger } from '../../core/logger.ts';
import type { Db } from '../../db/orm.ts';
import { RunSchema } from '../../db/entities/index.ts';
import type { RunSubscription } from './run-subscription.ts';

const CHUNK = 1_000;

/**
 * PostgreSQL is the record and Redis the fast path: once per ping interval, one query reads the
 * last committed seq of every run watched here, and a subscription behind it (a publish to Redis
 * failed and nothing followed) reads the rest from PostgreSQL. Usually every one is up to date.
 */
export async function catchUpFromStore(db: Db, logger: Logger, subscriptions: Iterable<RunSubscription>): Promise<void> {
  const byRun = new Map<string, RunSubscription[]>();
  for (const sub of subscriptions) {
    const list = byRun.get(sub.runId);
    if (list) list.push(sub);
    else byRun.set(sub.runId, [sub]);
  }
  const ids = [...byRun.keys()];
  for (let i = 0; i < ids.length; i += CHUNK) {
    try {
      const rows = await db.em.fork().find(RunSchema, { id: { $in: ids.slice(i, i + CHUNK) } }, { fields: ['id', 'lastSeq'] });
      for (const row of rows) for (const sub of byRun.get(row.id) ?? []) sub.catchUp(row.lastSeq);
    } catch (err) {
      logger.warn({ err }, 'ws catch-up from the event store failed');
    }
  }
}
