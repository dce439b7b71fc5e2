import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { fileURLToPath } from 'node:url';
import { migrateUp } from '../db/orm.ts';
import { createDatabase, dropDatabase } from '../test/peers/postgres.ts';
import { startApi } from '../test/peers/stack.ts';
import { startTemporalDevServer } from '../test/peers/temporal.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * The peers a benchmark needs, on loopback, the way the tests get them: a fresh migrated database
 * (dropped by stop()), a Temporal dev server, a private Redis key prefix (deleted by stop()), and the
 * environment an API needs to use them (spawnServer('./servers/api.ts', env) starts one).
 */
export async function startBenchEnv(overrides: Record<string, string> = {}) {
  const id = `${Date.now().toString(36)}_${process.pid}`;
  const dbName = `opssight_bench_${id}`;
  const databaseUrl = await createDatabase(dbName);
  await migrateUp(databaseUrl);
  const temporal = await startTemporalDevServer(process.env.TEMPORAL_BIN ?? `${root}.tools/bin/temporal`);
  const env = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATABASE_URL: databaseUrl,
    REDIS_URL: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/0',
    REDIS_PREFIX: `opssight-bench:${id}:`,
    TEMPORAL_ADDRESS: temporal.address,
    JWT_SECRET: `bench-only-secret-${id}-${Math.random().toString(36).slice(2)}-padding`,
    INTEGRATIONS_KEY: randomBytes(32).toString('base64'),
    ...overrides,
  };
  const stop = async () => {
    await temporal.stop();
    await dropDatabase(dbName);
    const redis = new Redis(env.REDIS_URL);
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${env.REDIS_PREFIX}*`, 'COUNT', 1000);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    await redis.quit();
  };
  return { env, stop, temporalPid: temporal.pid };
}

/** startBenchEnv with the real API listening on a free port in this process. */
export async function startBenchStack(overrides: Record<string, string> = {}) {
  const bench = await startBenchEnv(overrides);
  const api = await startApi(bench.env);
  const stop = async () => {
    await api.close();
    await bench.stop();
  };
  return { api, env: bench.env, stop, temporalPid: bench.temporalPid };
}

export type ServerProcess = { child: ChildProcess; baseUrl: string; message: Record<string, unknown>; stop: () => Promise<void> };

/**
 * A server script (bench/servers/*.ts) in a process of its own, so that the load generator and the
 * server do not share an event loop; the script sends `{ port }` once it listens.
 */
export function spawnServer(script: string, env: Record<string, string> = {}, execArgv: string[] = []): Promise<ServerProcess> {
  const child = fork(new URL(script, import.meta.url), { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before listening`)));
    child.once('message', (m: { port: number } & Record<string, unknown>) => {
      const stop = () =>
        new Promise<void>((done) => {
          if (child.exitCode !== null) return done();
          child.once('exit', () => done());
          child.kill('SIGTERM');
        });
      resolve({ child, baseUrl: `http://127.0.0.1:${m.port}`, message: m, stop });
    });
  });
}
