import { loadConfig, type Config } from '../../core/config.ts';
import { createLogger } from '../../core/logger.ts';
import { createRedis, redisKeys } from '../../core/redis.ts';
import { initOrm } from '../../db/orm.ts';
import { RunEventStore } from '../../core/run-events.ts';

/** Real connections to the peers global-setup started, for tests that exercise core/ and db/ directly. */
export async function peerContext(overrides: Partial<Record<string, string>> = {}) {
  const config: Config = loadConfig({ ...process.env, ...overrides });
  const db = await initOrm(config.DATABASE_URL, { poolMax: 4 });
  const redis = createRedis(config.REDIS_URL, 'test');
  const keys = redisKeys(config.REDIS_PREFIX);
  const logger = createLogger({ level: config.LOG_LEVEL, name: 'test' });
  const events = new RunEventStore({ em: db.em, redis, keys, logger });
  const close = async () => {
    redis.disconnect();
    await db.close();
  };
  return { config, db, redis, keys, logger, events, close };
}
