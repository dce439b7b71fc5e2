/** What scripts/up.sh keeps in its data directory between runs (.data/ unless OPSSIGHT_DATA_DIR). */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export type DataDir = {
  root: string;
  logs: string;
  pidFile: string;
  postgres: string;
  postgresPassword: string;
  jwtSecret: string;
  integrationsKey: string;
  temporalDb: string;
  work: string;
};

export function dataDir(root: string): DataDir {
  mkdirSync(path.join(root, 'logs'), { recursive: true });
  return {
    root,
    logs: path.join(root, 'logs'),
    pidFile: path.join(root, 'up.pids.json'),
    postgres: path.join(root, 'postgres'),
    postgresPassword: path.join(root, 'postgres.password'),
    jwtSecret: path.join(root, 'jwt-secret'),
    integrationsKey: path.join(root, 'integrations-key'),
    temporalDb: path.join(root, 'temporal.db'),
    work: path.join(root, 'work'),
  };
}

/** A random secret kept in a file only its owner can read, created on first use. */
export function persistentSecret(file: string, bytes = 48): string {
  if (!existsSync(file)) writeFileSync(file, `${randomBytes(bytes).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  const secret = readFileSync(file, 'utf8').trim();
  if (!secret) throw new Error(`${file} is empty; delete it to generate a new secret`);
  return secret;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A previous run that still lives is an error (two stacks on one data directory); one that was
 * killed without stopping its children (SIGKILL, a crash) leaves them holding the data directory:
 * those process groups are killed before starting again.
 */
export function clearPreviousRun(pidFile: string, log: (line: string) => void): void {
  if (!existsSync(pidFile)) return;
  let previous: { supervisor?: number; children?: Record<string, number> };
  try {
    previous = JSON.parse(readFileSync(pidFile, 'utf8'));
  } catch {
    return;
  }
  if (previous.supervisor && previous.supervisor !== process.pid && alive(previous.supervisor)) {
    throw new Error(`OpsSight is already running from this data directory (pid ${previous.supervisor}); stop it first`);
  }
  for (const [name, pid] of Object.entries(previous.children ?? {})) {
    // Each child led its own process group; a group that still exists is a leftover of ours.
    try {
      process.kill(-pid, 'SIGKILL');
      log(`stopped ${name} (pid ${pid}) left running by a previous run`);
    } catch {
      // gone already
    }
  }
}
