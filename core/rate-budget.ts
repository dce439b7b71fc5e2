import type { Redis } from 'ioredis';
import type { Logger } from './logger.ts';

/** How often a process tells Redis what it admitted and learns what the others did. */
export const BUDGET_SYNC_MS = 100;
const WINDOW_MS = 60_000;

type Entry = { window: number; seen: number; pending: number };

export type Admission = { allowed: boolean; remaining: number; retryAfterSeconds: number };

/**
 * A per-key budget of `limit` per minute (fixed windows aligned to the minute) shared by every API
 * process without a Redis round trip per request: each process decides from what Redis said at its
 * last sync plus what it admitted since, and every BUDGET_SYNC_MS adds what it admitted to the key's
 * Redis counter (one pipelined INCRBY + PEXPIRE per active key), learning the total in return.
 *
 * Tolerance: no process refuses while the total is under the limit; across processes the total can
 * exceed it by what the other processes admitted for that key in the last two sync intervals (200 ms)
 * before they learn it. While Redis is down each process keeps counting alone (a per-process limit),
 * and sends what it admitted once Redis answers again.
 */
export class SyncedBudget {
  private readonly entries = new Map<string, Entry>();
  private readonly timer: NodeJS.Timeout;
  private syncing = false;
  private readonly opts: { redis: Redis; keyPrefix: string; limit: number; logger: Logger };

  constructor(opts: { redis: Redis; keyPrefix: string; limit: number; logger: Logger }) {
    this.opts = opts;
    this.timer = setInterval(() => void this.sync(), BUDGET_SYNC_MS);
    this.timer.unref();
  }

  take(key: string, now = Date.now()): Admission {
    const window = Math.floor(now / WINDOW_MS);
    let e = this.entries.get(key);
    if (!e || e.window !== window) {
      e = { window, seen: 0, pending: 0 };
      this.entries.set(key, e);
    }
    const used = e.seen + e.pending;
    const retryAfterSeconds = Math.max(1, Math.ceil(((window + 1) * WINDOW_MS - now) / 1000));
    if (used >= this.opts.limit) return { allowed: false, remaining: 0, retryAfterSeconds };
    e.pending++;
    return { allowed: true, remaining: this.opts.limit - used - 1, retryAfterSeconds };
  }

  /** Sends what was admitted since the last sync, and forgets keys of past windows. */
  async sync(now = Date.now()): Promise<void> {
    if (this.syncing) return;
    this.syncing = true;
    try {
      const window = Math.floor(now / WINDOW_MS);
      const batch: [string, Entry, number][] = [];
      for (const [key, e] of this.entries) {
        if (e.window < window && e.pending === 0) this.entries.delete(key);
        else if (e.pending > 0) batch.push([key, e, e.pending]);
      }
      if (batch.length === 0) return;
      const pipeline = this.opts.redis.pipeline();
      for (const [key, e, n] of batch) {
        const redisKey = `${this.opts.keyPrefix}${key}:${e.window}`;
        pipeline.incrby(redisKey, n).pexpire(redisKey, 2 * WINDOW_MS);
      }
      const results = await pipeline.exec();
      batch.forEach(([key, e, n], i) => {
        const [err, total] = results?.[2 * i] ?? [new Error('no reply')];
        if (err) return;
        e.pending -= n;
        e.seen = Number(total);
        if (e.window < window && e.pending === 0) this.entries.delete(key);
      });
    } catch (err) {
      this.opts.logger.debug({ err }, 'rate limit: Redis did not take the counts; counting in this process until it does');
    } finally {
      this.syncing = false;
    }
  }

  close(): void {
    clearInterval(this.timer);
  }
}
