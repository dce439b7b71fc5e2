// health-scan against undici: BENCH_TARGETS (500) HTTP checks of loopback servers (bench/servers/
// health-targets.ts: 10 servers in a process of their own, each answering after 10 ms), probed once as
// an OpsSight run (POST /api/v1/runs → run ended: workflow, activity, a fresh connection per probe,
// a log line per check, the checks counted into PostgreSQL) and once as the same GETs made with
// undici directly (a fresh connection each, as a probe needs, and as many at once as the activity
// probes), nothing done with the answers but checking them. Rounds alternate; medians are compared.
// Run: node bench/health-scan.ts [--markdown] (npm run bench runs it with the others).
import { request } from 'undici';
import { probeLanes } from '../activities/health/index.ts';
import { loadConfig } from '../core/config.ts';
import { createLogger } from '../core/logger.ts';
import { createTeam, createUser } from '../test/fixtures/users.ts';
import { startWorker } from '../workers/runtime.ts';
import { spawnServer, startBenchStack } from './peers.ts';
import { alternatingMedians, fmt, table } from './stats.ts';

const TARGETS = Number(process.env.BENCH_TARGETS ?? 500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const DELAY_MS = 10;

const targets = await spawnServer('./servers/health-targets.ts', { TARGET_SERVERS: '10', TARGET_DELAY_MS: String(DELAY_MS) });
const ports = targets.message.ports as number[];
const urls = Array.from({ length: TARGETS }, (_, i) => `http://127.0.0.1:${ports[i % ports.length]}/svc-${i}/health`);
const stack = await startBenchStack({ RATE_LIMIT_API_PER_MINUTE: '1000000' });
const config = loadConfig({ ...process.env, ...stack.env, WORKER_HOST_ID: 'bench' });
const worker = await startWorker(config, createLogger({ level: 'silent', name: 'bench-worker' }), { reconciler: false });
try {
  const { api } = stack;
  const team = await createTeam(api.deps.db.em);
  const admin = await createUser(api.deps.db.em, { teams: [team], role: 'admin' });
  const { accessToken: token } = await api.deps.sessions.start(api.deps.db.em.fork(), admin.id);
  const checks = Object.fromEntries(urls.map((url, i) => [`svc-${i}`, { type: 'http', url, bodyMatch: 'ok', timeoutMs: 5_000 }]));
  const lanes = probeLanes(Object.values(checks));

  const viaOpsSight = async () => {
    const res = await fetch(`${api.baseUrl}/api/v1/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ kind: 'health-scan', team: team.slug, params: { monitor: 'bench', checks } }),
    });
    const { id } = (await res.json()) as { id?: string };
    if (res.status !== 201 || !id) throw new Error(`POST /api/v1/runs answered ${res.status}`);
    await api.deps.temporal.workflow.getHandle(id).result();
    const run = (await (await fetch(`${api.baseUrl}/api/v1/runs/${id}`, { headers: { authorization: `Bearer ${token}` } })).json()) as { status: string; summary?: { up: number } };
    if (run.status !== 'succeeded' || run.summary?.up !== TARGETS) throw new Error(`run ${id} ended ${run.status} with ${run.summary?.up} up`);
  };

  const viaUndici = async () => {
    let next = 0;
    let ok = 0;
    const lane = async () => {
      while (next < urls.length) {
        const url = urls[next++]!;
        // reset: close the connection after the answer, as a probe does (agent: false).
        const res = await request(url, { reset: true, headersTimeout: 5_000, bodyTimeout: 5_000 });
        if (res.statusCode === 200 && (await res.body.text()).includes('ok')) ok++;
      }
    };
    await Promise.all(Array.from({ length: lanes }, lane));
    if (ok !== TARGETS) throw new Error(`undici: ${ok} of ${TARGETS} answered ok`);
  };

  const { ours: o, baseline: u } = await alternatingMedians(ROUNDS, { baseline: viaUndici, ours: viaOpsSight });
  console.log(`health-scan: ${TARGETS} HTTP checks of 10 loopback servers (${DELAY_MS} ms each), ${lanes} at once, median of ${ROUNDS} alternating rounds`);
  console.log(
    table([
      ['path', 'seconds'],
      ['the same GETs with undici', fmt(u, 3)],
      ['health-scan run (API → run ended, checks stored)', fmt(o, 3)],
      ['ratio run ÷ undici (goal ≤ 1.3×)', `${fmt(o / u, 2)}×`],
    ]),
  );
} finally {
  await worker.shutdown();
  await stack.stop();
  await targets.stop();
}
process.exit(0);
