import { Client, Connection, isRetryableError, makeGrpcRetryInterceptor } from '@temporalio/client';
import type { Config } from '../core/config.ts';
import type { Logger } from '../core/logger.ts';
import { createCache } from '../core/cache/cache.ts';
import { RunListChanges } from '../core/cache/run-list-changes.ts';
import { createMetrics } from '../core/metrics.ts';
import { createRedis, redisKeys, redisSettled } from '../core/redis.ts';
import { createSessionService } from '../core/refresh-tokens.ts';
import { createApiTokenService } from '../core/api-tokens.ts';
import { escalationOutbox } from '../core/alerts/escalation-start.ts';
import { RunEventStore } from '../core/run-events.ts';
import { startTelemetry, temporalClientTracing } from '../core/telemetry.ts';
import { createTokenService } from '../core/tokens.ts';
import { keyringFromConfig } from '../core/secrets/keyring.ts';
import { initOrm } from '../db/orm.ts';
import type { AppDeps } from './context.ts';
import { kindsBody } from './services/kinds.ts';
import { allTeams } from './services/team-list.ts';

/**
 * Connects to PostgreSQL, Redis and Temporal, and starts tracing when configured (`telemetry`, whose
 * traceServer() the caller hands its http server); the returned close() releases all of them. Redis
 * may be down: the API starts anyway and works without it where that is safe (README: Redis outages).
 */
export async function buildAppDeps(config: Config, logger: Logger) {
  const telemetry = startTelemetry(config, 'opssight-api', logger);
  const db = await initOrm(config.DATABASE_URL, { timeoutMs: config.DEPENDENCY_TIMEOUT_MS });
  const redis = createRedis(config.REDIS_URL, 'api', { failFastMs: config.DEPENDENCY_TIMEOUT_MS });
  redis.on('error', (err: Error) => logger.warn({ err }, 'redis connection error'));
  await redisSettled(redis, config.DEPENDENCY_TIMEOUT_MS);
  const keys = redisKeys(config.REDIS_PREFIX);
  // The SDK's own backoff sleeps up to 5 s between retries, past any deadline; a request's Temporal
  // calls end at TEMPORAL_TIMEOUT_MS (requestContext sets it), so retries here wait at most 500 ms.
  const retries = makeGrpcRetryInterceptor({
    delayFunction: (attempt) => Math.min(500, 100 * 1.7 ** attempt),
    retryableDecider: (attempt, status) => attempt < 10 && isRetryableError(status),
  });
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS, interceptors: [retries] });
  const temporal = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE, ...temporalClientTracing(telemetry) });
  const events = new RunEventStore({ em: db.em, redis, keys, logger });
  const metrics = createMetrics();
  const tokens = createTokenService({ secret: config.JWT_SECRET, ttlSeconds: config.ACCESS_TOKEN_TTL_SECONDS });
  const cache = createCache({ redis, redisUrl: config.REDIS_URL, prefix: keys.prefix, logger, metrics });
  const runListChanges = new RunListChanges({ databaseUrl: config.DATABASE_URL, cache, logger });
  await runListChanges.start();
  const sessions = createSessionService({ tokens, refreshTtlSeconds: config.REFRESH_TOKEN_TTL_SECONDS, redis, keys, logger, cache });
  const apiTokens = createApiTokenService({ cache, em: () => db.em.fork(), logger });
  // A start still in flight is left alone for graceMs; after that a lost one is started by any API process.
  const escalations = escalationOutbox({ temporal, em: db.em, logger }, { sweepMs: config.ALERT_ESCALATION_SWEEP_SECONDS * 1000, graceMs: 5_000 });
  // Warm what every dashboard session asks for first; a failure only means the first request pays.
  kindsBody();
  await allTeams({ cache, runListChanges }, () => db.em.fork()).catch((err: unknown) => logger.warn({ err }, 'warming the team list failed'));
  const close = async () => {
    await escalations.close();
    await connection.close();
    await apiTokens.close();
    await runListChanges.close();
    await cache.close().catch((err: unknown) => logger.warn({ err }, 'closing the cache failed'));
    redis.disconnect();
    await db.close();
    // Last, so spans ended while closing still go out.
    await telemetry?.shutdown();
  };
  const deps: AppDeps = { config, logger, db, redis, keys, temporal, events, metrics, tokens, sessions, apiTokens, cache, runListChanges, escalations, keyring: keyringFromConfig(config) };
  return { ...deps, telemetry, close };
}
