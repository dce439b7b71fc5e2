import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { CheckResult } from '../../contracts/kinds/health-scan.ts';
import { recordScan } from '../../db/repositories/monitoring.ts';
import { client } from '../fixtures/http.ts';
import { until } from '../fixtures/until.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { startApi, type TestApi } from '../peers/stack.ts';
import { freePort, ownNamespace } from '../peers/temporal.ts';
import { startTestWorker, type TestWorker } from '../peers/worker.ts';
import { HISTORIES_DIR, historyToPlainJson } from '../workflows/record-histories.ts';

// Health scans through the API against real servers on loopback: an HTTP service that can be told
// to fail, an HTTPS one whose certificate expires in 3 days, a port nothing listens on (until the test
// opens it), DNS, and the suite's PostgreSQL and Redis.
let api: TestApi;
let worker: TestWorker;
let token: string;
let alertSource: string;
let team: { id: string; slug: string };
let web: Server;
let tls: Server;
let healthy = true;
let webPort: number;
let tlsPort: number;
let closedPort: number;
let ca: string;

const listen = (server: Server) => new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));

beforeAll(async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'opssight-cert-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '3', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', `${dir}/key.pem`, '-out', `${dir}/cert.pem`], { stdio: 'ignore' });
  ca = readFileSync(`${dir}/cert.pem`, 'utf8');
  web = createHttpServer((_req, res) => (healthy ? res.writeHead(200).end('service ok') : res.writeHead(503).end('overloaded')));
  tls = createHttpsServer({ key: readFileSync(`${dir}/key.pem`), cert: ca }, (_req, res) => res.writeHead(200).end('secure ok'));
  [webPort, tlsPort, closedPort] = await Promise.all([listen(web), listen(tls), freePort()]);

  const isolated = { TEMPORAL_NAMESPACE: await ownNamespace('health') };
  api = await startApi(isolated);
  worker = await startTestWorker(isolated);
  team = await createTeam(api.deps.db.em);
  const user = await createUser(api.deps.db.em, { teams: [team], role: 'operator' });
  token = (await client(api).post('/api/v1/auth/login', { email: user.email, password: user.password })).body.accessToken;
  // Integrations are an admin's to create: the alert source the scans raise their alerts through.
  const admin = await createUser(api.deps.db.em, { teams: [team], role: 'admin' });
  const adminToken = (await client(api).post('/api/v1/auth/login', { email: admin.email, password: admin.password })).body.accessToken;
  const source = await client(api, adminToken).post('/api/v1/integrations', { team: team.slug, type: 'alert-source', name: 'health', settings: {}, secrets: { token: `tok-${crypto.randomUUID()}-${crypto.randomUUID()}` } });
  expect(source.status).toBe(201);
  alertSource = source.body.id;
});
afterAll(async () => {
  await worker?.shutdown();
  await api?.close();
  web?.close();
  tls?.close();
});

const monitor = `shop-${crypto.randomUUID().slice(0, 6)}`;
const checks = () => ({
  web: { type: 'http', url: `http://127.0.0.1:${webPort}/`, bodyMatch: 'ok' },
  cert: { type: 'http', url: `https://127.0.0.1:${tlsPort}/`, ca, certMinDays: 14 },
  queue: { type: 'tcp', host: '127.0.0.1', port: closedPort, timeoutMs: 1000 },
  dns: { type: 'dns', hostname: 'localhost', expect: '127.0.0.1' },
  db: { type: 'postgres', host: '127.0.0.1', port: 5432 },
  cache: { type: 'redis', host: '127.0.0.1', port: 6379 },
});
async function scan(): Promise<{ id: string; status: string; error: string | null; summary: { checks: CheckResult[]; down: number; alerts?: { dedupKey: string; outcome: string }[] } }> {
  const res = await client(api, token).post('/api/v1/runs', { kind: 'health-scan', team: team.slug, params: { monitor, checks: checks(), failuresBeforeDown: 2, alertSource } });
  expect(res.status).toBe(201);
  return until(`scan ${res.body.id} to end`, async () => {
    const r = (await client(api, token).get(`/api/v1/runs/${res.body.id}`)).body;
    return ['succeeded', 'failed'].includes(r.status) ? r : undefined;
  }, 60_000);
}
const byName = (cs: CheckResult[]) => Object.fromEntries(cs.map((c) => [c.name, c]));

describe('health-scan', () => {
  it('probes each kind of check, damps a failure until it repeats, and records when checks go down and come back', async () => {
    const first = await scan();
    const one = byName(first.summary.checks);
    expect(Object.fromEntries(Object.entries(one).map(([n, c]) => [n, c.ok]))).toEqual({ web: true, cert: false, queue: false, dns: true, db: true, cache: true });
    expect(one.cert!.detail).toMatch(/certificate expires in [23] day/);
    expect(one.queue!.detail).toMatch(/ECONNREFUSED/);
    // One failure is not down yet: the run succeeds, and nothing is raised.
    expect(first).toMatchObject({ status: 'succeeded', summary: { down: 0, alerts: [] } });
    const lines = (await client(api, token).get(`/api/v1/runs/${first.id}/events?limit=100`)).body.events.map((e: { message: string }) => e.message);
    expect(lines).toEqual(expect.arrayContaining([expect.stringMatching(/^queue \(tcp\): FAILED — .*ECONNREFUSED/), expect.stringMatching(/^db \(postgres\): ok/)]));

    if (process.env.RECORD_HISTORIES === '1') {
      const history = await api.deps.temporal.workflow.getHandle(first.id).fetchHistory();
      await writeFile(path.join(HISTORIES_DIR, 'health-scan-run.json'), JSON.stringify(historyToPlainJson(history), null, 1));
    }

    const second = await scan();
    expect(second.status).toBe('failed');
    expect(second.error).toBe('2 of 6 checks down: cert, queue');
    expect(byName(second.summary.checks).queue).toMatchObject({ status: 'down', changed: { from: 'up', to: 'down' } });
    // Down: an alert per check through the team's alert source (and so its escalation).
    expect(second.summary.alerts).toEqual([{ dedupKey: `health:${monitor}:cert`, outcome: 'opened' }, { dedupKey: `health:${monitor}:queue`, outcome: 'opened' }]);

    // The port opens: the check is up at its first success, and a flapping web service stays up.
    const opened = createTcpServer((s) => s.end());
    await new Promise<void>((r) => opened.listen(closedPort, '127.0.0.1', r));
    healthy = false;
    try {
      const third = await scan();
      expect(byName(third.summary.checks).queue).toMatchObject({ ok: true, status: 'up', changed: { from: 'down', to: 'up' } });
      expect(byName(third.summary.checks).web).toMatchObject({ ok: false, status: 'up' });
      expect(third.error).toBe('1 of 6 checks down: cert');
      // The port's recovery resolves its alert; the certificate, still expiring, repeats.
      expect(third.summary.alerts).toEqual([{ dedupKey: `health:${monitor}:cert`, outcome: 'repeated' }, { dedupKey: `health:${monitor}:queue`, outcome: 'resolved' }]);
      const alerts = (await client(api, token).get(`/api/v1/alerts?team=${team.slug}`)).body.alerts as { dedupKey: string; status: string; count: number; summary: string }[];
      const byKey = Object.fromEntries(alerts.map((a) => [a.dedupKey, a]));
      expect(byKey[`health:${monitor}:cert`]).toMatchObject({ status: 'firing', count: 2, summary: expect.stringMatching(/certificate expires in [23] day/) });
      expect(byKey[`health:${monitor}:queue`]).toMatchObject({ status: 'resolved' });
    } finally {
      healthy = true;
      opened.close();
    }

    const status = (await client(api, token).get(`/api/v1/monitoring?team=${team.slug}&monitor=${monitor}`)).body.checks;
    expect(Object.fromEntries(status.map((c: { check: string; status: string }) => [c.check, c.status]))).toEqual({ cache: 'up', cert: 'down', db: 'up', dns: 'up', queue: 'up', web: 'up' });
    const history = (await client(api, token).get(`/api/v1/monitoring/transitions?team=${team.slug}&monitor=${monitor}`)).body.transitions;
    expect(history.map((t: { check: string; from: string; to: string }) => `${t.check} ${t.from}→${t.to}`)).toEqual(['queue down→up', 'queue up→down', 'cert up→down']);
  }, 180_000);

  it('a scan counted once: the same run recorded again changes nothing', async () => {
    const runId = crypto.randomUUID();
    const m = `retry-${crypto.randomUUID().slice(0, 6)}`;
    const probes = [{ name: 'x', type: 'tcp' as const, ok: false, latencyMs: 1, detail: 'refused' }];
    await recordScan(api.deps.db.em, { teamId: team.id, monitor: m, runId: crypto.randomUUID(), failuresBeforeDown: 2, probes });
    const once = await recordScan(api.deps.db.em, { teamId: team.id, monitor: m, runId, failuresBeforeDown: 2, probes });
    const again = await recordScan(api.deps.db.em, { teamId: team.id, monitor: m, runId, failuresBeforeDown: 2, probes });
    expect(once[0]).toMatchObject({ status: 'down', changed: { from: 'up', to: 'down' } });
    expect(again[0]).toMatchObject({ status: 'down' });
    expect(again[0]!.changed).toBeUndefined();
    const rows = await api.deps.db.em.fork().getConnection().execute<{ consecutive_failures: number }[]>('select consecutive_failures from monitor_checks where monitor = ?', [m]);
    expect(rows[0]!.consecutive_failures).toBe(2);
  });

  it('bad input is a 400 naming the field', async () => {
    const res = await client(api, token).post('/api/v1/runs', { kind: 'health-scan', team: team.slug, params: { monitor, checks: { x: { type: 'http', url: 'ftp://example.com/' } } } });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(['params.checks.x.url']);
  });
});
