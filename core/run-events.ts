import type { EntityManager } from '@mikro-orm/postgresql';
import type { Redis } from 'ioredis';
import type { NewRunEvent, RunEvent } from '../contracts/events.ts';
import { insertRunEvents, listRunEvents } from '../db/repositories/run-events.ts';
import type { Logger } from './logger.ts';
import type { RedisKeys } from './redis.ts';

/** Live tails keep this many entries per run; older ones are served from PostgreSQL. */
const STREAM_MAX_LEN = 20_000;

/** Publishes waiting beyond this are dropped: live readers then fill the gap from PostgreSQL. */
const MAX_PENDING_PUBLISHES = 1_000;

/**
 * PostgreSQL is the record, Redis the fast path: an event is committed (with its seq) before it is
 * published to the run's Redis Stream, so a reader that sees seq N in Redis can read all before it.
 * The record never waits on Redis: append resolves once PostgreSQL has the events, and the publish
 * follows in order behind it (a Redis outage delays live delivery, never the record).
 */
export class RunEventStore {
  private readonly deps: { em: EntityManager; redis: Redis; keys: RedisKeys; logger: Logger };
  private publishing: Promise<void> = Promise.resolve();
  private pending = 0;
  constructor(deps: { em: EntityManager; redis: Redis; keys: RedisKeys; logger: Logger }) {
    this.deps = deps;
  }

  async append(runId: string, events: NewRunEvent[]): Promise<RunEvent[]> {
    const stored = await insertRunEvents(this.deps.em.fork(), runId, events);
    this.publishStored(runId, stored);
    return stored;
  }

  /** Queues the publish of events a caller stored itself (a run's first event, inserted with the run) and has committed. */
  publishStored(runId: string, stored: RunEvent[]): void {
    if (this.pending < MAX_PENDING_PUBLISHES) {
      this.pending++;
      this.publishing = this.publishing.then(() => this.publish(runId, stored)).finally(() => this.pending--);
    }
  }

  /** Resolves once everything appended so far was handed to Redis (or given up on). */
  published(): Promise<void> {
    return this.publishing;
  }

  list(runId: string, after: number, limit: number): Promise<RunEvent[]> {
    return listRunEvents(this.deps.em.fork(), runId, after, limit);
  }

  private async publish(runId: string, events: RunEvent[]): Promise<void> {
    if (events.length === 0) return;
    const key = this.deps.keys.runStream(runId);
    const pipeline = this.deps.redis.pipeline();
    for (const e of events) pipeline.xadd(key, 'MAXLEN', '~', STREAM_MAX_LEN, '*', 'e', JSON.stringify(e));
    pipeline.expire(key, 7 * 24 * 3600);
    try {
      await pipeline.exec();
    } catch (err) {
      // Already durable in PostgreSQL; live readers fill the gap from there when the next event arrives.
      this.deps.logger.warn({ err, runId }, 'publishing run events to redis failed');
    }
  }
}

/** What the `runs` topic carries: enough for a list row to update itself. */
export type RunChange = { id: string; status: string; kind: string; team: string; target: string | null; step: string | null };

/** Announces a run's new state on the `runs` channel every API instance relays to its sockets. */
export async function publishRunChange(redis: Redis, keys: RedisKeys, run: RunChange): Promise<void> {
  await redis.publish(keys.runsChannel, JSON.stringify({ op: 'run', run }));
}
