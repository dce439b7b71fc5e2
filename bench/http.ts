// HTTP throughput of the API's read paths against a bare Koa 3 hello-world started in the same run:
// GET /health, GET /api/v1/kinds, GET /api/v1/teams and GET /api/v1/runs?limit=20 (authenticated, as a
// team operator whose team holds RUNS runs). The API and the baseline each run in a process of their
// own; autocannon drives them from this one with CONNECTIONS connections for SECONDS per route. The
// baseline is measured before and after the routes and the mean taken, so drift shows as a spread.
// (An API token against the JWT on the runs route: bench/api-tokens.ts.)
// The per-user rate limit is raised so that no request is refused. Run: npm run bench (or node bench/http.ts).
// Besides requests per second, each server process's CPU time per request is read from /proc: on a busy
// machine the load generator and other work take turns with the server and move req/s a lot, while
// what one request costs the server moves little; its ratio to the baseline's is the steadier figure.
// The baseline app also sends the kinds answer's own bytes: the floor of that route, whatever it does
// before it answers, since a 25 KB write costs far more than {"ok":true}.
import autocannon from 'autocannon';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initOrm } from '../db/orm.ts';
import { insertRun } from '../test/fixtures/runs.ts';
import { createTeam, createUser } from '../test/fixtures/users.ts';
import { spawnServer, startBenchEnv, type ServerProcess } from './peers.ts';
import { fmt, processCpuMs, table } from './stats.ts';

const SECONDS = Math.min(Number(process.env.BENCH_SECONDS ?? 5), 30);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20);
const RUNS = Number(process.env.BENCH_HTTP_RUNS ?? 200);
/** What the issue asks of each route, as a fraction of the hello-world's requests per second. */
const GOALS: Record<string, number> = { '/health': 0.7, '/api/v1/kinds': 0.5, '/api/v1/runs?limit=20': 0.2 };

type Measured = { rps: number; p50: number; p99: number; non2xx: number; errors: number; cpuUsPerRequest: number };

async function load(server: ServerProcess, path: string, headers: Record<string, string>, seconds: number): Promise<Measured> {
  const cpuBefore = processCpuMs(server.child.pid!);
  const r = await autocannon({ url: `${server.baseUrl}${path}`, headers, connections: CONNECTIONS, duration: seconds });
  const cpuMs = processCpuMs(server.child.pid!) - cpuBefore;
  return { rps: r.requests.mean, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors, cpuUsPerRequest: (cpuMs * 1000) / r.requests.total };
}

const bench = await startBenchEnv({ RATE_LIMIT_API_PER_MINUTE: '1000000000' });
const servers: { stop: () => Promise<void> }[] = [];
const tmp = mkdtempSync(path.join(os.tmpdir(), 'opssight-bench-http-'));
try {
  const db = await initOrm(bench.env.DATABASE_URL);
  const team = await createTeam(db.em);
  const user = await createUser(db.em, { teams: [team], role: 'operator' });
  for (let i = 0; i < RUNS; i++) await insertRun(db.em, team, user.id, { params: { workspace: `ws-${i}`, files: { 'main.tf': 'resource "terraform_data" "x" {}\n' } } });
  await db.close();

  const api = await spawnServer('./servers/api.ts', bench.env, process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []);
  servers.push(api);
  const login = await fetch(`${api.baseUrl}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: user.email, password: user.password }),
  });
  const { accessToken } = (await login.json()) as { accessToken: string };
  const auth = { authorization: `Bearer ${accessToken}` };
  // The kinds answer (about 25 KB) handed to the baseline app, which sends it as its own at /bytes.
  const kindsFile = path.join(tmp, 'kinds.json');
  writeFileSync(kindsFile, Buffer.from(await (await fetch(`${api.baseUrl}/api/v1/kinds`, { headers: auth })).arrayBuffer()));
  const koa = await spawnServer('./servers/koa-hello.ts', { BODY_FILE: kindsFile });
  servers.push(koa);
  const routes: [string, Record<string, string>][] = [
    ['/health', {}],
    ['/api/v1/kinds', auth],
    // What a dashboard's browser sends (Accept-Encoding: gzip, deflate, br, zstd): answers go out compressed.
    ['/api/v1/kinds as a browser asks', { ...auth, 'accept-encoding': 'gzip, deflate, br, zstd' }],
    ['/api/v1/teams', auth],
    ['/api/v1/runs?limit=20', auth],
    ['/api/v1/runs?limit=20 as a browser asks', { ...auth, 'accept-encoding': 'gzip, deflate, br, zstd' }],
  ];
  // BENCH_HTTP_ROUTES=/health,/api/v1/kinds narrows the run to the rows of those paths (with BENCH_CPU_PROF: one path's profile).
  const only = process.env.BENCH_HTTP_ROUTES?.split(',');
  if (only) routes.splice(0, routes.length, ...routes.filter(([label]) => only.includes(label.replace(/ .*/, ''))));
  for (const [label, headers] of routes) {
    const path = label.replace(/ .*/, '');
    const res = await fetch(`${api.baseUrl}${path}`, { headers });
    if (res.status !== 200) throw new Error(`GET ${label} answered ${res.status}: ${await res.text()}`);
  }

  await load(koa, '/', {}, 1);
  const before = await load(koa, '/', {}, SECONDS);
  const kindsBytes = await load(koa, '/bytes', {}, SECONDS);
  const measured: [string, Measured][] = [];
  for (const [label, headers] of routes) {
    const path = label.replace(/ .*/, '');
    await load(api, path, headers, 1);
    measured.push([label, await load(api, path, headers, SECONDS)]);
  }
  const after = await load(koa, '/', {}, SECONDS);
  const baseline = (before.rps + after.rps) / 2;
  const baselineCpu = (before.cpuUsPerRequest + after.cpuUsPerRequest) / 2;

  console.log(`HTTP: ${CONNECTIONS} connections, ${SECONDS} s per route; baseline Koa 3 hello-world ${fmt(before.rps, 0)} / ${fmt(after.rps, 0)} req/s (before / after)`);
  console.log(
    table([
      ['route', 'req/s', 'p50 ms', 'p99 ms', '÷ Koa hello-world', 'goal', 'server CPU µs/req', 'Koa hello-world CPU ÷ route CPU'],
      ['Koa hello-world (baseline)', fmt(baseline, 0), fmt(before.p50, 0), fmt(before.p99, 0), '1.00×', '', fmt(baselineCpu, 0), '1.00×'],
      // The floor for the kinds route: what the bare app does sending the same bytes.
      ['bare Koa sending the kinds answer', fmt(kindsBytes.rps, 0), fmt(kindsBytes.p50, 0), fmt(kindsBytes.p99, 0), `${fmt(kindsBytes.rps / baseline, 3)}×`, '', fmt(kindsBytes.cpuUsPerRequest, 0), `${fmt(baselineCpu / kindsBytes.cpuUsPerRequest, 3)}×`],
      ...measured.map(([path, m]) => {
        const failed = m.non2xx + m.errors;
        return [
          `GET ${path}${failed ? ` (${failed} failed)` : ''}`,
          fmt(m.rps, 0),
          fmt(m.p50, 0),
          fmt(m.p99, 0),
          `${fmt(m.rps / baseline, 3)}×`,
          GOALS[path] ? `≥ ${GOALS[path]}×` : '',
          fmt(m.cpuUsPerRequest, 0),
          `${fmt(baselineCpu / m.cpuUsPerRequest, 3)}×`,
        ];
      }),
    ]),
  );
} finally {
  for (const s of servers.reverse()) await s.stop();
  await bench.stop();
  rmSync(tmp, { recursive: true, force: true });
}
process.exit(0);
