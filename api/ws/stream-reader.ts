import type { Redis } from 'ioredis';
import type { RunEvent } from '../../contracts/events.ts';
import type { Logger } from '../../core/logger.ts';
import type { RedisKeys } from '../../core/redis.ts';

/**
 * Called for every event read from a run's stream with the `event` message every socket sends,
 * encoded once: a hundred watchers of a run send the same bytes, not a hundred copies of them.
 */
export type StreamListener = (event: RunEvent, message: Buffer) => void;

type Tail = { key: string; lastId: string | null; listeners: Set<StreamListener>; ready: Promise<void> };

const BLOCK_MS = 5_000;
const COUNT = 1_000;
const RETRY_MS = 1_000;

/**
 * One blocking XREAD per API instance over every run that has local watchers, on one dedicated
 * connection: N watchers of M runs cost one connection, not N. Adding a run wakes the blocked read
 * through a private wake stream (an XADD there makes XREAD return at once, with no race against a
 * read that is still on its way to Redis, which CLIENT UNBLOCK would have).
 */
export class RunStreamReader {
  private readonly tails = new Map<string, Tail>();
  private readonly connect: () => Redis;
  private blocking: Redis | undefined;
  private readonly redis: Redis;
  private readonly keys: RedisKeys;
  private readonly logger: Logger;
  private readonly wakeKey: string;
  private wakeId = '0-0';
  private wakeWritten = false;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private idle: (() => void) | undefined;

  /** `connect` opens the reader's own blocking connection on first use; `redis` is the shared command connection. */
  constructor(deps: { connect: () => Redis; redis: Redis; keys: RedisKeys; logger: Logger }) {
    this.connect = deps.connect;
    this.redis = deps.redis;
    this.keys = deps.keys;
    this.logger = deps.logger;
    this.wakeKey = `${deps.keys.prefix}ws:wake:${crypto.randomUUID()}`;
  }

  /**
   * Starts delivering the run's events to `listener`. Resolves once the run is tailed from a
   * position taken now, so every event XADDed after it resolves reaches the listener; events
   * XADDed just before may reach it too (subscribers dedupe by seq).
   */
  async watch(runId: string, listener: StreamListener): Promise<() => void> {
    let tail = this.tails.get(runId);
    if (!tail) {
      const key = this.keys.runStream(runId);
      const created: Tail = { key, lastId: null, listeners: new Set(), ready: Promise.resolve() };
      created.ready = this.redis.xrevrange(key, '+', '-', 'COUNT', 1).then(async (last) => {
        created.lastId = last[0]?.[0] ?? '0-0';
        await this.wake();
      });
      this.tails.set(runId, created);
      tail = created;
    }
    tail.listeners.add(listener);
    const current = tail;
    try {
      await current.ready;
    } catch (err) {
      this.unwatch(runId, current, listener);
      throw err;
    }
    if (!this.stopped) this.loop ??= this.run((this.blocking = this.connect()));
    return () => this.unwatch(runId, current, listener);
  }

  get watchedRuns(): number {
    return this.tails.size;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.idle?.();
    this.blocking?.disconnect();
    await this.loop;
    this.tails.clear();
    // Only when written: with Redis unreachable this would wait out its reconnect backoff.
    if (this.wakeWritten) await this.redis.del(this.wakeKey).catch(() => undefined);
  }

  private unwatch(runId: string, tail: Tail, listener: StreamListener): void {
    tail.listeners.delete(listener);
    // The next XREAD leaves the stream out; no need to wake the current one for that.
    if (tail.listeners.size === 0 && this.tails.get(runId) === tail) this.tails.delete(runId);
  }

  private async wake(): Promise<void> {
    if (this.idle) {
      this.idle();
      return;
    }
    this.wakeWritten = true;
    await this.redis.multi().xadd(this.wakeKey, 'MAXLEN', '~', 100, '*', 'w', '1').expire(this.wakeKey, 3600).exec();
  }

  private async run(blocking: Redis): Promise<void> {
    while (!this.stopped) {
      const ready = [...this.tails.entries()].filter(([, t]) => t.lastId !== null);
      if (ready.length === 0) {
        await new Promise<void>((resolve) => (this.idle = resolve));
        this.idle = undefined;
        continue;
      }
      const keys = [...ready.map(([, t]) => t.key), this.wakeKey];
      const ids = [...ready.map(([, t]) => t.lastId!), this.wakeId];
      let result: [string, [string, string[]][]][] | null;
      try {
        result = (await blocking.xread('COUNT', COUNT, 'BLOCK', BLOCK_MS, 'STREAMS', ...keys, ...ids)) as typeof result;
      } catch (err) {
        if (this.stopped) return;
        // Positions are kept, so a Redis outage delays events; subscribers fill any trimmed gap from PostgreSQL.
        this.logger.warn({ err }, 'ws stream reader: XREAD failed, retrying');
        await new Promise((r) => setTimeout(r, RETRY_MS));
        continue;
      }
      const byKey = new Map(ready.map(([, t]) => [t.key, t]));
      for (const [key, entries] of result ?? []) {
        const last = entries[entries.length - 1];
        if (!last) continue;
        if (key === this.wakeKey) {
          this.wakeId = last[0];
          continue;
        }
        const tail = byKey.get(key);
        if (!tail) continue;
        tail.lastId = last[0];
        this.deliver(tail, entries);
      }
    }
  }

  private deliver(tail: Tail, entries: [string, string[]][]): void {
    for (const [, fields] of entries) {
      const at = fields.indexOf('e');
      const raw = at >= 0 ? fields[at + 1] : undefined;
      if (raw === undefined) continue;
      let event: RunEvent;
      try {
        event = JSON.parse(raw) as RunEvent;
      } catch {
        this.logger.warn({ key: tail.key }, 'ws stream reader: unparsable entry skipped');
        continue;
      }
      const message = Buffer.from(`{"op":"event","event":${raw}}`);
      for (const listener of tail.listeners) {
        try {
          listener(event, message);
        } catch (err) {
          this.logger.error({ err }, 'ws stream listener failed');
        }
      }
    }
  }
}
