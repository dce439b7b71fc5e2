// What an API token costs against a JWT on an authenticated read: GET /api/v1/runs?limit=20 as the
// same team operator (whose team holds RUNS runs), once with a session's JWT and once with an API token
// the user minted (core/api-tokens.ts: hash → token id remembered per process, the principal cached
// like a session's). ROUNDS pairs of SECONDS each, the order alternating within each pair so the
// machine's drifting load hits both sides alike; each pair gives a ratio, the median (of an even number
// of pairs, half in each order) is printed.
// Two ratios: requests per second (token ÷ JWT), and the API process's CPU time per request read from
// /proc (JWT ÷ token: above 1 would mean the token is cheaper), which moves much less than req/s on a
// shared machine. Goal ≥ 0.9× (issue 14). Run: node bench/api-tokens.ts [--markdown].
import autocannon from 'autocannon';
import { initOrm } from '../db/orm.ts';
import { insertRun } from '../test/fixtures/runs.ts';
import { createTeam, createUser } from '../test/fixtures/users.ts';
import { spawnServer, startBenchEnv, type ServerProcess } from './peers.ts';
import { fmt, processCpuMs, table } from './stats.ts';

// Even: whichever side goes second in a pair tends to do better on this machine, so both orders must
// count equally.
const ROUNDS = Math.max(2, 2 * Math.ceil(Number(process.env.BENCH_ROUNDS ?? 8) / 2));
const SECONDS = Math.min(Number(process.env.BENCH_SECONDS ?? 3), 30);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const RUNS = Number(process.env.BENCH_HTTP_RUNS ?? 200);
const GOAL = 0.9;
const PATH = '/api/v1/runs?limit=20';

type Measured = { rps: number; cpuUsPerRequest: number; failed: number };

async function load(server: ServerProcess, headers: Record<string, string>, seconds: number): Promise<Measured> {
  const cpuBefore = processCpuMs(server.child.pid!);
  const r = await autocannon({ url: `${server.baseUrl}${PATH}`, headers, connections: CONNECTIONS, duration: seconds });
  const cpuMs = processCpuMs(server.child.pid!) - cpuBefore;
  return { rps: r.requests.mean, cpuUsPerRequest: (cpuMs * 1000) / r.requests.total, failed: r.non2xx + r.errors };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const bench = await startBenchEnv({ RATE_LIMIT_API_PER_MINUTE: '1000000000' });
let api: ServerProcess | undefined;
try {
  const db = await initOrm(bench.env.DATABASE_URL);
  const team = await createTeam(db.em);
  const user = await createUser(db.em, { teams: [team], role: 'operator' });
  for (let i = 0; i < RUNS; i++) await insertRun(db.em, team, user.id, { params: { workspace: `ws-${i}`, files: { 'main.tf': 'resource "terraform_data" "x" {}\n' } } });
  await db.close();

  api = await spawnServer('./servers/api.ts', bench.env);
  const login = await fetch(`${api.baseUrl}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: user.email, password: user.password }) });
  const jwt = { authorization: `Bearer ${((await login.json()) as { accessToken: string }).accessToken}` };
  const minted = await fetch(`${api.baseUrl}/api/v1/me/tokens`, { method: 'POST', headers: { ...jwt, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'bench', team: team.slug, permissions: ['runs:read'] }) });
  const token = { authorization: `Bearer ${((await minted.json()) as { token: string }).token}` };
  for (const headers of [jwt, token]) {
    const res = await fetch(`${api.baseUrl}${PATH}`, { headers });
    if (res.status !== 200) throw new Error(`GET ${PATH} answered ${res.status}: ${await res.text()}`);
  }
  // Warm both paths (JIT, caches, connection pool) before anything counts.
  await load(api, jwt, 1);
  await load(api, token, 1);

  const rows: string[][] = [];
  const rpsRatios: number[] = [];
  const cpuRatios: number[] = [];
  let failed = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const tokenFirst = round % 2 === 1;
    const first = await load(api, tokenFirst ? token : jwt, SECONDS);
    const second = await load(api, tokenFirst ? jwt : token, SECONDS);
    const [t, j] = tokenFirst ? [first, second] : [second, first];
    failed += t.failed + j.failed;
    rpsRatios.push(t.rps / j.rps);
    cpuRatios.push(j.cpuUsPerRequest / t.cpuUsPerRequest);
    rows.push([String(round + 1), tokenFirst ? 'token, JWT' : 'JWT, token', fmt(j.rps, 0), fmt(t.rps, 0), `${fmt(t.rps / j.rps, 3)}×`, fmt(j.cpuUsPerRequest, 0), fmt(t.cpuUsPerRequest, 0), `${fmt(j.cpuUsPerRequest / t.cpuUsPerRequest, 3)}×`]);
  }
  const load1 = (await import('node:os')).loadavg()[0]!;
  console.log(`API token vs JWT on GET ${PATH}: ${ROUNDS} alternating pairs of ${SECONDS} s, ${CONNECTIONS} connections, same API process and user; load average ${fmt(load1, 1)} at the end`);
  console.log(table([['pair', 'order', 'JWT req/s', 'token req/s', 'token ÷ JWT req/s', 'JWT CPU µs/req', 'token CPU µs/req', 'JWT ÷ token CPU'], ...rows]));
  console.log('');
  const rps = median(rpsRatios);
  const cpu = median(cpuRatios);
  console.log(`Median of ${ROUNDS} pairs: token ÷ JWT requests per second ${fmt(rps, 3)}×, JWT ÷ token server CPU per request ${fmt(cpu, 3)}× (goal ≥ ${GOAL}×: ${Math.min(rps, cpu) >= GOAL ? 'met' : 'missed'})${failed ? `; ${failed} requests failed` : ''}`);
} finally {
  await api?.stop();
  await bench.stop();
}
process.exit(0);
