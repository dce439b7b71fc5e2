import { MikroORM } from '@mikro-orm/postgresql';
import { ENTITIES } from '../../db/entities/index.ts';

/** Where tests may create their own databases; CI and dev machines run PostgreSQL here. */
export const ADMIN_URL = process.env.TEST_POSTGRES_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export function databaseUrl(name: string): string {
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

async function admin<T>(fn: (run: (sql: string) => Promise<unknown>) => Promise<T>): Promise<T> {
  const orm = await MikroORM.init({ clientUrl: ADMIN_URL, entities: ENTITIES, pool: { min: 0, max: 1 } });
  try {
    return await fn((sql) => orm.em.execute(sql));
  } finally {
    await orm.close(true);
  }
}

export async function createDatabase(name: string): Promise<string> {
  await admin((run) => run(`create database "${name}"`));
  return databaseUrl(name);
}

export async function dropDatabase(name: string): Promise<void> {
  await admin((run) => run(`drop database if exists "${name}" with (force)`));
}
