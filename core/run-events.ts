import type { EntityManager } from '@mikro-orm/postgresql';
import type { Redis } from 'ioredis';
import type { NewRunEvent, RunEvent } from '../contracts/events.ts';
import { insertRunEvents, listRunEvents } from '../db/repositories/run-events.ts';
import type { Logger } from './logger.ts';
import type { RedisKeys } from './redis.ts';

/** Live tails keep this many entries per run; older ones are served from PostgreSQL. */
const STREAM_MAX_LEN = 20_000;

/**
 * PostgreSQL is the record, Redis the fast path: an event is committed (with its seq) before it is
 * published to the run's Redis Stream, so a reader that sees seq N in Redis can read all before it.
 */
export class RunEventStore {
  private readonly deps: { em: EntityManager; redis: Redis; keys: RedisKeys; logger: Logger };
  constructor(deps: { em: EntityManager; redis: Redis; keys: RedisKeys; logger: Logger }) {
    this.deps = deps;
  }

  async append(runId: string, events: NewRunEvent[]): Promise<RunEvent[]> {
    const stored = await insertRunEvents(this.deps.em.fork(), runId, events);
    await this.publish(runId, stored);
    return stored;
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

/**
 * Buffers high-rate output (log lines) and appends it in batches, in order, one batch in flight.
 */
export class RunEventBatcher {
  private buffer: NewRunEvent[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> = Promise.resolve();
  private failure: unknown;
  private readonly store: RunEventStore;
  private readonly runId: string;
  private readonly flushMs: number;
  private readonly maxBatch: number;

  constructor(store: RunEventStore, runId: string, opts: { flushMs: number; maxBatch?: number }) {
    this.store = store;
    this.runId = runId;
    this.flushMs = opts.flushMs;
    this.maxBatch = opts.maxBatch ?? 500;
  }

  push(event: NewRunEvent): void {
    this.buffer.push(event);
    if (this.buffer.length >= this.maxBatch) this.flushSoon(0);
    else this.flushSoon(this.flushMs);
  }

  /** Resolves when everything pushed so far is stored; rejects if any batch failed. */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.drain();
    await this.inFlight;
    if (this.failure) throw this.failure;
  }

  private flushSoon(ms: number): void {
    if (this.timer && ms > 0) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.drain();
    }, ms);
  }

  private drain(): void {
    if (this.buffer.length === 0) return;
    const batch = this.buffer;
    this.buffer = [];
    this.inFlight = this.inFlight.then(() =>
      this.store.append(this.runId, batch).then(
        () => undefined,
        (err: unknown) => {
          this.failure ??= err;
        },
      ),
    );
  }
}

/** What the `runs` topic carries: enough for a list row to update itself. */
export type RunChange = { id: string; status: string; kind: string; team: string; target: string | null; step: string | null };

/** Announces a run's new state on the `runs` channel every API instance relays to its sockets. */
export async function publishRunChange(redis: Redis, keys: RedisKeys, run: RunChange): Promise<void> {
  await redis.publish(keys.runsChannel, JSON.stringify({ op: 'run', run }));
}
