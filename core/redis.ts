import { Redis } from 'ioredis';

export type RedisKeys = {
  prefix: string;
  runStream: (runId: string) => string;
  runsChannel: string;
  /** Alert changes (`{op: "alert", ...AlertAnnouncement}`), relayed to the /ws `alerts` topic. */
  alertsChannel: string;
  /** Where ended sessions are announced (`{families: [...]}`) so every API process closes their sockets. */
  revocationsChannel: string;
};

export function redisKeys(prefix: string): RedisKeys {
  return {
    prefix,
    runStream: (runId) => `${prefix}run:${runId}:events`,
    runsChannel: `${prefix}runs`,
    alertsChannel: `${prefix}alerts`,
    revocationsChannel: `${prefix}sessions:revoked`,
  };
}

/**
 * With `failFastMs`, a command fails at once while the connection is down (no offline queue, no
 * retries) and after `failFastMs` when Redis does not answer, instead of waiting for a reconnect: for
 * request paths, which answer 503 or fall back rather than hang. Without it, commands queue until
 * Redis is back (blocking readers and subscribers, which resubscribe on reconnect).
 */
export function createRedis(url: string, name: string, opts: { failFastMs?: number } = {}): Redis {
  const failFast = opts.failFastMs ? { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: opts.failFastMs } : { maxRetriesPerRequest: 3 };
  return new Redis(url, { connectionName: name, lazyConnect: false, ...failFast });
}

/** Resolves once the client is ready, or has failed to connect once, or after `timeoutMs`: never throws. */
export function redisSettled(redis: Redis, timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      redis.off('ready', done).off('error', done).off('end', done);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    redis.once('ready', done).once('error', done).once('end', done);
  });
}
