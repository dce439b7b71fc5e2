/**
 * `bash scripts/up.sh` on its embedded defaults, as the README promises: no DATABASE_URL (embedded
 * PostgreSQL), no REDIS_URL (a local redis-server), no TEMPORAL_ADDRESS (the CLI dev server), a fresh
 * data directory. It must print the URL and a generated admin password, serve /health and
 * /health/detailed, let that admin log in, and on SIGINT stop every process it started and exit 0.
 */
import { afterAll, expect, test } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { verifyPassword } from '../../core/passwords.ts';
import { initOrm } from '../../db/orm.ts';
import { freePort } from '../peers/temporal.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'opssight-up-'));
let up: ChildProcess | undefined;

type PidFile = { supervisor: number; children: Record<string, number> };
const readPids = (): PidFile => JSON.parse(readFileSync(path.join(dataDir, 'up.pids.json'), 'utf8'));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Resolves once `pattern` appears in the output; rejects if the process exits first. */
function waitForOutput(child: ChildProcess, pattern: RegExp, output: { text: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (pattern.test(output.text)) {
        child.stdout!.off('data', check);
        child.off('exit', onExit);
        resolve();
      }
    };
    const onExit = (code: number | null) => reject(new Error(`up.sh exited (${code}) before printing ${pattern}:\n${output.text}`));
    child.stdout!.on('data', check);
    child.once('exit', onExit);
    check();
  });
}

afterAll(() => {
  // Only reached with something still running when an assertion failed mid-way.
  if (up && up.exitCode === null) {
    const pids = existsSync(path.join(dataDir, 'up.pids.json')) ? readPids() : { supervisor: up.pid!, children: {} };
    for (const pid of [pids.supervisor, ...Object.values(pids.children)]) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
  rmSync(dataDir, { recursive: true, force: true });
});

test('scripts/up.sh brings the platform up on embedded defaults and Ctrl-C stops all of it', async () => {
  // Explicit ports for what the test addresses; PostgreSQL and Redis get the ones up.sh picks.
  const [apiPort, temporalPort, uiPort] = await Promise.all(Array.from({ length: 3 }, () => freePort()));
  const env: NodeJS.ProcessEnv = { ...process.env };
  // global-setup exported the shared peers; this test must use none of them.
  for (const name of [
    'DATABASE_URL', 'REDIS_URL', 'REDIS_PREFIX', 'TEMPORAL_ADDRESS', 'JWT_SECRET', 'INTEGRATIONS_KEY', 'NODE_ENV',
    'OPSSIGHT_ADMIN_EMAIL', 'OPSSIGHT_ADMIN_PASSWORD', 'OPSSIGHT_POSTGRES_PORT', 'OPSSIGHT_REDIS_PORT',
  ]) {
    delete env[name];
  }
  Object.assign(env, {
    OPSSIGHT_DATA_DIR: dataDir,
    API_PORT: String(apiPort),
    TEMPORAL_PORT: String(temporalPort),
    TEMPORAL_UI_PORT: String(uiPort),
    LOG_LEVEL: 'info',
  });

  up = spawn('bash', ['scripts/up.sh'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const output = { text: '' };
  up.stdout!.on('data', (chunk: Buffer) => (output.text += chunk.toString()));
  up.stderr!.on('data', (chunk: Buffer) => (output.text += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => up!.once('exit', (code) => resolve(code)));

  await waitForOutput(up, /^Press Ctrl-C to stop\.$/m, output);
  const password = output.text.match(/generated password: (\S+)/)?.[1];
  const apiUrl = output.text.match(/^OpsSight API: (\S+)$/m)?.[1];
  expect(apiUrl).toBe(`http://127.0.0.1:${apiPort}`);
  expect(output.text).toContain(`Temporal UI: http://127.0.0.1:${uiPort}`);
  // Printed once, to the terminal; never into a log.
  expect(password).toMatch(/^[\w-]{20,}$/);
  expect(output.text.split(password!).length - 1).toBe(1);
  for (const log of ['postgres', 'redis', 'temporal', 'migrate', 'worker', 'api']) {
    expect(readFileSync(path.join(dataDir, 'logs', `${log}.log`), 'utf8')).not.toContain(password!);
  }

  const pids = readPids();
  expect(pids.supervisor).toBe(up.pid);
  expect(Object.keys(pids.children)).toEqual(['postgres', 'redis', 'temporal', 'worker', 'api']);

  const dashboard = await fetch(`${apiUrl}/`);
  expect([dashboard.status, dashboard.headers.get('content-type')]).toEqual([200, expect.stringContaining('text/html')]);
  const health = await fetch(`${apiUrl}/health`);
  expect(health.status).toBe(200);
  const detailed = await fetch(`${apiUrl}/health/detailed`);
  const body = (await detailed.json()) as { checks: Record<string, { status: string }> };
  expect(detailed.status).toBe(200);
  expect(Object.fromEntries(Object.entries(body.checks).map(([k, v]) => [k, v.status]))).toEqual({ postgres: 'up', redis: 'up', temporal: 'up' });

  const login = await fetch(`${apiUrl}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'admin@opssight.local', password }),
  });
  expect(login.status).toBe(200);
  expect(await login.json()).toMatchObject({ accessToken: expect.any(String), user: { email: 'admin@opssight.local', isAdmin: true } });

  // The row behind it, in the embedded PostgreSQL, with the secret up.sh kept for it (mode 600).
  const pgPort = output.text.match(/postgres +embedded, 127\.0\.0\.1:(\d+)/)?.[1];
  expect(pgPort).toMatch(/^\d+$/);
  const secretFile = path.join(dataDir, 'postgres.password');
  expect(readFileSync(secretFile, 'utf8').length).toBeGreaterThan(20);
  const db = await initOrm(`postgres://postgres:${encodeURIComponent(readFileSync(secretFile, 'utf8').trim())}@127.0.0.1:${pgPort}/opssight`, { poolMax: 1 });
  try {
    const [row] = await db.em.execute<{ is_admin: boolean; password_hash: string }[]>(
      `select is_admin, password_hash from users where email = 'admin@opssight.local'`,
    );
    expect(row?.is_admin).toBe(true);
    expect(await verifyPassword(row!.password_hash, password!)).toBe(true);
  } finally {
    await db.close();
  }

  process.kill(up.pid!, 'SIGINT');
  expect(await exited).toBe(0);
  expect(output.text).toContain('stopped');
  for (const [name, pid] of Object.entries(pids.children)) {
    expect([name, alive(pid)]).toEqual([name, false]);
  }
  // The PostgreSQL server (the helper's child) shut down cleanly: it removes its pid file.
  expect(existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
  expect(existsSync(path.join(dataDir, 'up.pids.json'))).toBe(false);
}, 240_000);
