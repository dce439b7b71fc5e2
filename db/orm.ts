import { MikroORM, defineConfig, type EntityManager } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { fileURLToPath } from 'node:url';
import { ENTITIES } from './entities/index.ts';
import { OpsSightPostgreSqlDriver } from './pg-driver.ts';

const migrationsPath = fileURLToPath(new URL('./migrations', import.meta.url));

/**
 * `timeoutMs` bounds connecting and each query (pg's connectionTimeoutMillis and query_timeout): a
 * PostgreSQL that is down or hung fails the call after it instead of holding it forever.
 */
export function ormConfig(databaseUrl: string, opts: { debug?: boolean; poolMax?: number; timeoutMs?: number } = {}) {
  return defineConfig({
    driver: OpsSightPostgreSqlDriver,
    clientUrl: databaseUrl,
    entities: ENTITIES,
    extensions: [Migrator],
    debug: opts.debug ?? false,
    pool: { min: 0, max: opts.poolMax ?? 10 },
    ...(opts.timeoutMs ? { driverOptions: { connectionTimeoutMillis: opts.timeoutMs, query_timeout: opts.timeoutMs } } : {}),
    migrations: {
      path: migrationsPath,
      pathTs: migrationsPath,
      glob: '!(*.d).ts',
      emit: 'ts',
      snapshot: false,
      transactional: true,
      allOrNothing: true,
      // Callers report what was applied (db/migrate.ts prints the names); the migrator's own log is noise in tests.
      silent: true,
    },
  });
}

export type Db = { orm: MikroORM; em: EntityManager; close: () => Promise<void> };

export async function initOrm(databaseUrl: string, opts: { poolMax?: number; timeoutMs?: number } = {}): Promise<Db> {
  const orm = await MikroORM.init(ormConfig(databaseUrl, opts));
  return { orm, em: orm.em, close: () => orm.close(true) };
}

export async function migrateUp(databaseUrl: string): Promise<string[]> {
  const orm = await MikroORM.init(ormConfig(databaseUrl, { poolMax: 2 }));
  try {
    const done = await orm.migrator.up();
    return done.map((m) => m.name);
  } finally {
    await orm.close(true);
  }
}
