import { Client, Connection } from '@temporalio/client';
import type { Config } from '../core/config.ts';
import type { Logger } from '../core/logger.ts';
import { createMetrics } from '../core/metrics.ts';
import { createRedis, redisKeys } from '../core/redis.ts';
import { RunEventStore } from '../core/run-events.ts';
import { startTelemetry, temporalClientTracing } from '../core/telemetry.ts';
import { createTokenService } from '../core/tokens.ts';
import { keyringFromConfig } from '../core/secrets/keyring.ts';
import { initOrm } from '../db/orm.ts';
import type { AppDeps } from './context.ts';

/**
 * Connects to PostgreSQL, Redis and Temporal, and starts tracing when configured (`telemetry`, whose
 * traceServer() the caller hands its http server); the returned close() releases all of them.
 */
export async function buildAppDeps(config: Config, logger: Logger) {
  const telemetry = startTelemetry(config, 'opssight-api', logger);
  const db = await initOrm(config.DATABASE_URL);
  const redis = createRedis(config.REDIS_URL, 'api');
  const keys = redisKeys(config.REDIS_PREFIX);
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  const temporal = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE, ...temporalClientTracing(telemetry) });
  const events = new RunEventStore({ em: db.em, redis, keys, logger });
  const metrics = createMetrics();
  const tokens = createTokenService({ secret: config.JWT_SECRET, ttlSeconds: config.ACCESS_TOKEN_TTL_SECONDS, redis, keys });
  const close = async () => {
    await connection.close();
    redis.disconnect();
    await db.close();
    // Last, so spans ended while closing still go out.
    await telemetry?.shutdown();
  };
  const deps: AppDeps = { config, logger, db, redis, keys, temporal, events, metrics, tokens, keyring: keyringFromConfig(config) };
  return { ...deps, telemetry, close };
}
