/**
 * `bash scripts/up.sh` on its embedded defaults, as the README promises: no DATABASE_URL (embedded
 * PostgreSQL), no REDIS_URL (a local redis-server), no TEMPORAL_ADDRESS (the CLI dev server), a fresh
 * data directory. It must print the URL and a generated admin password, serve /health and
 * /health/detailed, let that admin log in, bring back a worker and the API killed with SIGKILL (the
 * platform stays up), and on SIGINT stop every process it started and exit 0.
 */
import { afterAll, expect, test } from '@jest/globals';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TASK_QUEUES } from '../../contracts/temporal.ts';
import { verifyPassword } from '../../core/passwords.ts';
import { initOrm } from '../../db/orm.ts';
import { workerPolling } from '../../scripts/up/net.ts';
import { until } from '../fixtures/until.ts';
import { alive, killLeftovers, loginAdmin, ownStackEnv, readPids as readPidsOf, runScript, type UpProcess } from './up-process.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'opssight-up-'));
let up: UpProcess | undefined;
const readPids = () => readPidsOf(dataDir);

afterAll(() => {
  killLeftovers(up, dataDir);
  rmSync(dataDir, { recursive: true, force: true });
});

test('scripts/up.sh brings the platform up on embedded defaults and Ctrl-C stops all of it', async () => {
  const { env, apiPort, temporalPort, uiPort } = await ownStackEnv({ OPSSIGHT_DATA_DIR: dataDir });
  up = runScript(ROOT, ['scripts/up.sh'], env);
  const { output, exited } = up;
  await up.waitFor(/^Press Ctrl-C to stop\.$/m);
  const password = output.text.match(/generated password: (\S+)/)?.[1];
  const apiUrl = output.text.match(/^OpsSight API: (\S+)$/m)?.[1];
  expect(apiUrl).toBe(`http://127.0.0.1:${apiPort}`);
  expect(output.text).toContain(`Temporal UI: http://127.0.0.1:${uiPort}`);
  const mailUi = output.text.match(/^Mail catcher UI: (\S+)/m)?.[1];
  const mailSmtpPort = Number(output.text.match(/maildev +SMTP 127\.0\.0\.1:(\d+)/)?.[1]);
  expect(mailUi).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  // Printed once, to the terminal; never into a log.
  expect(password).toMatch(/^[\w-]{20,}$/);
  expect(output.text.split(password!).length - 1).toBe(1);
  for (const log of ['postgres', 'redis', 'temporal', 'maildev', 'migrate', 'worker-1', 'worker-2', 'api']) {
    expect(readFileSync(path.join(dataDir, 'logs', `${log}.log`), 'utf8')).not.toContain(password!);
  }

  const first = readPids();
  expect(first.supervisor).toBe(up.child.pid);
  // WORKERS defaults to 2.
  expect(Object.keys(first.children)).toEqual(['postgres', 'redis', 'temporal', 'maildev', 'worker-1', 'worker-2', 'api']);

  const dashboard = await fetch(`${apiUrl}/`);
  expect([dashboard.status, dashboard.headers.get('content-type')]).toEqual([200, expect.stringContaining('text/html')]);
  const health = await fetch(`${apiUrl}/health`);
  expect(health.status).toBe(200);
  const detailed = await fetch(`${apiUrl}/health/detailed`);
  const body = (await detailed.json()) as { checks: Record<string, { status: string }> };
  expect(detailed.status).toBe(200);
  expect(Object.fromEntries(Object.entries(body.checks).map(([k, v]) => [k, v.status]))).toEqual({ postgres: 'up', redis: 'up', temporal: 'up' });

  const login = await loginAdmin(apiUrl!, password!);
  expect(login.status).toBe(200);
  const session = (await login.json()) as { accessToken: string };
  expect(session).toMatchObject({ accessToken: expect.any(String), user: { email: 'admin@opssight.local', isAdmin: true } });
  const { accessToken } = session;

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

  // An escalation email sent through an smtp integration pointed at the mail catcher shows up in its UI.
  const as = (method: string, p: string, body: unknown) => fetch(`${apiUrl}${p}`, { method, headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, body: (await r.json()) as { id: string } }));
  // up.sh's first admin administers the `default` team.
  const mailTeam = 'default';
  const smtp = await as('POST', '/api/v1/integrations', { team: mailTeam, type: 'smtp', name: 'maildev', settings: { host: '127.0.0.1', port: mailSmtpPort, from: 'opssight@example.com', to: ['oncall@example.com'] }, secrets: {} });
  expect([smtp.status, smtp.body]).toEqual([201, expect.objectContaining({ type: 'smtp' })]);
  const policy = await as('POST', '/api/v1/escalation-policies', { team: mailTeam, name: 'mail', steps: [{ type: 'notify_channel', integration: smtp.body.id }, { type: 'wait', seconds: 600 }] });
  expect(policy.status).toBe(201);
  const sourceToken = `up-${crypto.randomUUID()}-${crypto.randomUUID()}`;
  const source = await as('POST', '/api/v1/integrations', { team: mailTeam, type: 'alert-source', name: 'up', settings: { policy: policy.body.id }, secrets: { token: sourceToken } });
  const summary = `up.sh mail ${crypto.randomUUID()}`;
  const fired = await fetch(`${apiUrl}/api/v1/alerts?source=${source.body.id}`, { method: 'POST', headers: { authorization: `Bearer ${sourceToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ dedupKey: 'up', summary }) });
  expect(fired.status).toBe(202);
  const mail = await until('the escalation email in maildev', async () => {
    const all = (await (await fetch(`${mailUi}/api/email`)).json()) as { subject: string; to: { address: string }[] }[];
    return all.find((m) => m.subject.includes(summary));
  }, 60_000, 250);
  expect(mail.to.map((t) => t.address)).toEqual(['oncall@example.com']);

  // A crashed worker and API come back on their own; the platform stays up and says so.
  const killedAt = new Date();
  process.kill(first.children['worker-1']!, 'SIGKILL');
  process.kill(first.children.api!, 'SIGKILL');
  const pids = await until('worker-1 and the API to be restarted', async () => {
    const now = readPids();
    return now.restarts['worker-1'] === 1 && now.restarts.api === 1 && now.children['worker-1'] !== first.children['worker-1'] && now.children.api !== first.children.api ? now : undefined;
  }, 60_000, 200);
  expect(output.text).toMatch(/worker-1 exited unexpectedly \(signal SIGKILL\); restart #1/);
  expect(output.text).toMatch(/api exited unexpectedly \(signal SIGKILL\); restart #1/);
  expect(pids.restarts).toMatchObject({ postgres: 0, redis: 0, temporal: 0, 'worker-2': 0 });
  const runs = await until('the restarted API to list runs', async () => {
    const res = await fetch(`${apiUrl}/api/v1/runs`, { headers: { authorization: `Bearer ${accessToken}` } }).catch(() => null);
    return res?.status === 200 ? ((await res.json()) as { runs: unknown[] }) : undefined;
  }, 60_000, 250);
  expect(runs.runs).toEqual([]);
  await until('the restarted worker to poll again', async () =>
    (await workerPolling(`127.0.0.1:${temporalPort}`, 'default', TASK_QUEUES.infra, killedAt, 2).catch(() => false)) || undefined, 120_000, 500);

  process.kill(up.child.pid!, 'SIGINT');
  expect(await exited).toBe(0);
  expect(output.text).toContain('stopped');
  for (const [name, pid] of Object.entries(pids.children)) {
    expect([name, alive(pid)]).toEqual([name, false]);
  }
  // The PostgreSQL server (the helper's child) shut down cleanly: it removes its pid file.
  expect(existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
  expect(existsSync(path.join(dataDir, 'up.pids.json'))).toBe(false);
}, 300_000);
