// Load test, bounded and loopback only: simulated dashboard users against one API process. Each
// user signs in (POST /auth/login), opens one run's page (GET /runs/:id and a WebSocket subscribed
// to the run) and lists runs every 5 s (GET /runs?limit=20), as the dashboard does. Users are added
// STEP at a time up to USERS; after each step's sign-ins, the API is measured for HOLD_S seconds:
// p99 of the requests made in that window and the API process's RSS. Prints the table and the number
// of users one API process held before p99 passed 200 ms. Run: node bench/load.ts (not part of npm run
// bench: it takes minutes). Its own process pool: the API runs alone in a process of its own.
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { hashPassword } from '../core/passwords.ts';
import { MembershipSchema, TeamSchema, UserSchema } from '../db/entities/index.ts';
import { initOrm } from '../db/orm.ts';
import { insertRun } from '../test/fixtures/runs.ts';
import { spawnServer, startBenchEnv } from './peers.ts';
import { fmt, percentile, table } from './stats.ts';

const USERS = Math.min(Number(process.env.BENCH_USERS ?? 1000), 2000);
const STEP = Number(process.env.BENCH_STEP ?? 100);
const HOLD_S = Math.min(Number(process.env.BENCH_HOLD_S ?? 10), 60);
const POLL_MS = 5_000;
const P99_LIMIT_MS = 200;
const PASSWORD = 'load-test password that is long enough';

const bench = await startBenchEnv({ RATE_LIMIT_LOGIN_PER_MINUTE: '1000000', WS_PING_INTERVAL_MS: '30000' });
const sockets: WebSocket[] = [];
const timers: NodeJS.Timeout[] = [];
let api: Awaited<ReturnType<typeof spawnServer>> | undefined;
try {
  const db = await initOrm(bench.env.DATABASE_URL);
  const em = db.em.fork();
  const team = em.create(TeamSchema, { slug: 'load', name: 'load', settings: { fourEyes: false } });
  // One hash for all: argon2 per user would make the setup take minutes.
  const passwordHash = await hashPassword(PASSWORD);
  const emails: string[] = [];
  for (let i = 0; i < USERS; i++) {
    const email = `load-${i}@example.test`;
    const user = em.create(UserSchema, { email, name: `load ${i}`, passwordHash, isAdmin: false });
    em.create(MembershipSchema, { user, team, role: 'operator' });
    emails.push(email);
  }
  await em.flush();
  const firstUser = (await em.findOneOrFail(UserSchema, { email: emails[0]! })).id;
  const runIds: string[] = [];
  for (let i = 0; i < 200; i++) runIds.push(await insertRun(db.em, team, firstUser, { params: { workspace: `ws-${i}` } }));
  await db.close();

  api = await spawnServer('./servers/api.ts', bench.env);
  const base = api.baseUrl;
  const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${api!.child.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

  let window: number[] = [];
  let failures = 0;
  const timed = async (path: string, init: RequestInit) => {
    const t = performance.now();
    const res = await fetch(`${base}${path}`, init);
    const body = await res.text();
    window.push(performance.now() - t);
    if (!res.ok) failures++;
    return { ok: res.ok, status: res.status, body };
  };

  async function addUser(i: number): Promise<void> {
    const login = await timed('/api/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: emails[i], password: PASSWORD }) });
    if (!login.ok) throw new Error(`login answered ${login.status}`);
    const { accessToken } = JSON.parse(login.body) as { accessToken: string };
    const auth = { authorization: `Bearer ${accessToken}` };
    const runId = runIds[i % runIds.length]!;
    await timed(`/api/v1/runs/${runId}`, { headers: auth });
    const ws = new WebSocket(`${base.replace('http', 'ws')}/ws`, ['opssight.v1', `bearer.${accessToken}`]);
    sockets.push(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => ws.send(JSON.stringify({ op: 'subscribe', runId, after: 0 })));
      ws.on('message', (d) => String(d).includes('"subscribed"') && resolve());
      ws.once('error', reject);
    });
    // Spread over the interval, as real users are not in step.
    const poll = () => void timed('/api/v1/runs?limit=20', { headers: auth }).catch(() => failures++);
    timers.push(setTimeout(() => timers.push(setInterval(poll, POLL_MS)), Math.random() * POLL_MS));
  }

  const rows: string[][] = [['users', 'requests', 'p50 ms', 'p99 ms', 'failed', 'API RSS MiB']];
  let held = 0;
  for (let users = 0; users < USERS; ) {
    const next = Math.min(USERS, users + STEP);
    // Sign-ins in small parallel batches (each is an argon2 verification on the API).
    for (let i = users; i < next; i += 10) await Promise.all(Array.from({ length: Math.min(10, next - i) }, (_, k) => addUser(i + k)));
    users = next;
    window = [];
    failures = 0;
    await new Promise((r) => setTimeout(r, HOLD_S * 1000));
    const sorted = Float64Array.from(window).sort();
    const p99 = percentile(sorted, 99);
    rows.push([String(users), String(sorted.length), fmt(percentile(sorted, 50), 1), fmt(p99, 1), String(failures), fmt(rss(), 0)]);
    console.error(rows.at(-1)!.join('  '));
    if (p99 <= P99_LIMIT_MS && held === users - STEP) held = users;
    if (p99 > 5 * P99_LIMIT_MS) break;
  }
  console.log(`load: dashboard users (login, a run page with a WebSocket, runs list every ${POLL_MS / 1000} s), ${STEP} added per step, ${HOLD_S} s measured per step, one API process`);
  console.log(table(rows));
  console.log(`users held by one API process with p99 ≤ ${P99_LIMIT_MS} ms: ${held}${held === USERS ? ' (all; the limit was not reached)' : ''}`);
} finally {
  for (const t of timers) clearInterval(t);
  for (const s of sockets) s.terminate();
  await api?.stop();
  await bench.stop();
}
process.exit(0);
