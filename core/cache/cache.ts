import { BentoCache, bentostore } from 'bentocache';
import { memoryDriver } from 'bentocache/drivers/memory';
import { redisBusDriver, redisDriver } from 'bentocache/drivers/redis';
import { EventEmitter } from 'node:events';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import { frozenJsonSerializer } from './frozen-json.ts';

/** What a key's first segment names (`principal:…` → principal): the unit the counters are kept by. */
const cacheName = (key: string) => key.split(':', 1)[0]!;
const TAG_KEY = '___bc:t:';
/** Longest a request waits for its invalidation to reach Redis (a reconnecting bus queues it). */
const INVALIDATION_WAIT_MS = 1_000;

export type CacheCounters = Record<string, { l1: number; l2: number; miss: number; promoted: number }>;

export type AppCache = {
  /**
   * The value under `key`: from this process's memory (L1), else from Redis (L2, and then copied into
   * L1: a promotion), else from `factory`, stored in both. `ttlMs` bounds how stale a value can be when
   * an invalidation is lost; `tags` are what invalidate() names.
   */
  getOrSet: <T>(key: string, opts: { ttlMs: number; tags: string[] }, factory: () => Promise<T>) => Promise<T>;
  /**
   * Every entry carrying one of `tags` is stale from now on, in every API process: the tag's new
   * timestamp goes to Redis and over the bus, which drops the tag from every other process's L1.
   * Never throws: with Redis down this process's L1 is still invalidated and the TTL bounds the rest.
   */
  invalidate: (tags: string[]) => Promise<void>;
  counters: () => CacheCounters;
  close: () => Promise<void>;
};

/**
 * What the bus is given: it duplicates this (never connected itself) into a publisher and a
 * subscriber, both failing fast like the API's own connection: a publish while Redis is down fails at
 * once (bentocache logs it and keeps it in its retry queue) instead of holding up the request that
 * invalidated. A SUBSCRIBE that fails so (Redis not there yet) is sent again when the connection is
 * ready; bentocache would leave its failure unhandled. Once subscribed, ioredis resubscribes by itself.
 */
class BusConnection extends Redis {
  private readonly copies = new Set<Redis>();

  override duplicate(override?: Partial<RedisOptions>): Redis {
    const copy = super.duplicate({ lazyConnect: false, enableOfflineQueue: false, maxRetriesPerRequest: 0, ...override });
    const subscribe = copy.subscribe.bind(copy) as (...channels: string[]) => Promise<unknown>;
    const subscribeWhenReady = (channels: string[]): Promise<unknown> =>
      subscribe(...channels).catch(() => {
        if (copy.status !== 'end') copy.once('ready', () => void subscribeWhenReady(channels));
        return 0;
      });
    copy.subscribe = ((...channels: string[]) => subscribeWhenReady(channels)) as typeof copy.subscribe;
    copy.on('error', () => undefined);
    this.copies.add(copy);
    return copy;
  }

  disconnectAll(): void {
    for (const copy of this.copies) copy.disconnect();
  }
}

/**
 * The two-level cache (bentocache: an LRU in memory bounded by bytes, Redis behind it, a Redis pub/sub
 * bus keeping every process's memory layer coherent, tag invalidation). Values are stored serialized
 * and handed out deep-frozen, so a caller can never change what another request gets.
 */
export function createCache(opts: { redis: Redis; redisUrl: string; prefix: string; logger: Logger; metrics?: Metrics; maxBytes?: number }): AppCache {
  const emitter = new EventEmitter();
  const counters: CacheCounters = {};
  const count = (key: string, what: 'l1' | 'l2' | 'miss') => {
    if (key.startsWith(TAG_KEY)) return;
    const name = cacheName(key) || 'other';
    const c = (counters[name] ??= { l1: 0, l2: 0, miss: 0, promoted: 0 });
    c[what]++;
    // Every L2 hit is written into L1 on the way out (bentocache's getOrSet does that): a promotion.
    if (what === 'l2') c.promoted++;
    opts.metrics?.cacheRequests.inc({ cache: name, result: what });
    if (what === 'l2') opts.metrics?.cachePromotions.inc({ cache: name });
  };
  emitter.on('cache:hit', (e: { key: string; layer: 'l1' | 'l2' }) => count(e.key, e.layer));
  emitter.on('cache:miss', (e: { key: string }) => count(e.key, 'miss'));

  const busConnection = new BusConnection(opts.redisUrl, { connectionName: 'api-cache-bus', lazyConnect: true });
  const bento = new BentoCache({
    default: 'app',
    prefix: `${opts.prefix}cache`,
    emitter,
    // No serving stale values: what is cached here decides who may do what.
    grace: false,
    serializer: frozenJsonSerializer(),
    stores: {
      app: bentostore()
        .useL1Layer(memoryDriver({ maxSize: opts.maxBytes ?? 64 * 1024 * 1024, maxEntrySize: 1024 * 1024, serialize: true }))
        // The API's fail-fast connection: while Redis is down an L2 read fails at once and the factory answers.
        .useL2Layer(redisDriver({ connection: opts.redis }))
        .useBus(
          redisBusDriver({
            connection: busConnection,
            retryQueue: { enabled: true, maxSize: 1000 },
          }),
        ),
    },
  });

  return {
    getOrSet: (key, { ttlMs, tags }, factory) => bento.getOrSet({ key, ttl: ttlMs, tags, factory }),
    async invalidate(tags) {
      if (tags.length === 0) return;
      opts.metrics?.cacheInvalidations.inc(tags.length);
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), INVALIDATION_WAIT_MS)));
      try {
        // The tag's timestamp is in this process's memory before the first await: from here on this
        // process serves nothing older, whatever Redis does.
        const outcome = await Promise.race([bento.deleteByTag({ tags }), late]);
        if (outcome === 'late') opts.logger.warn({ tags }, 'cache invalidation still on its way to Redis; other processes may wait for the TTL');
      } catch (err) {
        opts.logger.warn({ err, tags }, 'cache invalidation did not reach Redis; other processes wait for the TTL');
      } finally {
        clearTimeout(timer);
      }
    },
    counters: () => structuredClone(counters),
    async close() {
      // At once, queued commands and all: a QUIT queued while Redis is unreachable would wait forever.
      busConnection.disconnectAll();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([bento.disconnect().catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, 3_000)))]);
      clearTimeout(timer);
    },
  };
}
