// Live events: WATCHERS WebSocket watchers of one run while a process the run launched prints RATE
// lines/s for SECONDS, through the path every run's output takes (the process's output file, the
// runner's tail, the PostgreSQL commit, the Redis Stream, the /ws hub), against a baseline measured in
// the same run: raw XADD → XREAD with as many readers at the same rate.
// Run: npm run bench (or node bench/live-events.ts). Loopback only; bounded by SECONDS.
import { fork, type ChildProcess } from 'node:child_process';
import type { Redis } from 'ioredis';
import { findRun } from '../db/repositories/runs.ts';
import { createRunRow } from '../test/fixtures/runs.ts';
import { startBenchStack } from './peers.ts';
import { commandCpuMs, fmt, nowMs, processCpuMs, table } from './stats.ts';
import type { RunnerJob } from './live-runner.ts';
import type { WatchResult, WatchSetup } from './watchers.ts';

const WATCHERS = Number(process.env.BENCH_WATCHERS ?? 100);
const RATE = Number(process.env.BENCH_RATE ?? 1000);
const SECONDS = Math.min(Number(process.env.BENCH_SECONDS ?? 10), 60);
const TICK_MS = 10;
const PER_TICK = Math.max(1, Math.round((RATE * TICK_MS) / 1000));
const TICKS = Math.round((SECONDS * 1000) / TICK_MS);
const line = (i: number) => `module.bench.terraform_data.item[${i}]: Creating... [id=${'0'.repeat(36)}] elapsed 0s`;

/** Starts the watchers in a child process and resolves once all of them are subscribed. */
async function startWatchers(setup: WatchSetup): Promise<{ child: ChildProcess; result: (total: number) => Promise<WatchResult> }> {
  const child = fork(new URL('./watchers.ts', import.meta.url), { stdio: 'inherit' });
  const ready = new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`watchers exited with ${code}`)));
  });
  child.send(setup);
  await ready;
  const result = (total: number) =>
    new Promise<WatchResult>((resolve) => {
      child.once('message', (m: { result: WatchResult }) => resolve(m.result));
      child.send({ type: 'expect', total });
    });
  return { child, result };
}

/** Calls `emit(tick)` every TICK_MS for TICKS ticks on a drift-free schedule. */
async function paced(emit: (tick: number) => void): Promise<void> {
  const start = performance.now();
  for (let tick = 0; tick < TICKS; tick++) {
    const due = start + tick * TICK_MS;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    emit(tick);
  }
}

async function baseline(redis: Redis, redisUrl: string, key: string): Promise<WatchResult & { emitted: number }> {
  const { result } = await startWatchers({ mode: 'redis', n: WATCHERS, redisUrl, key });
  let seq = 0;
  const writes: Promise<unknown>[] = [];
  await paced(() => {
    const pipeline = redis.pipeline();
    for (let i = 0; i < PER_TICK; i++) {
      seq++;
      const event = { runId: 'baseline', seq, ts: new Date().toISOString(), type: 'log', level: 'info', stream: 'stdout', message: line(seq), data: { t: nowMs() }, attempt: 1 };
      pipeline.xadd(key, 'MAXLEN', '~', 20_000, '*', 'e', JSON.stringify(event));
    }
    writes.push(pipeline.exec());
  });
  await Promise.all(writes);
  return { ...(await result(seq)), emitted: seq };
}

// Prints `line <i> t=<epoch ms>` at RATE lines/s on a drift-free schedule; the watchers read t back.
const EMITTER = `
import sys, time
rate, total = int(sys.argv[1]), int(sys.argv[2])
start = time.time()
for i in range(1, total + 1):
    delay = start + i / rate - time.time()
    if delay > 0:
        time.sleep(delay)
    print(f"module.bench.terraform_data.item[{i}]: Creating... t={time.time() * 1000:.3f}", flush=True)
`;

async function throughHub(stack: Awaited<ReturnType<typeof startBenchStack>>): Promise<WatchResult & { emitted: number; runnerCpuMs: number }> {
  const { api } = stack;
  const runId = await createRunRow(api.deps.db.em);
  const owner = (await findRun(api.deps.db.em.fork(), runId))!.requestedBy as unknown as { id: string };
  const { accessToken: token } = await api.deps.sessions.start(api.deps.db.em.fork(), owner.id);
  const { result } = await startWatchers({ mode: 'ws', n: WATCHERS, url: api.wsUrl, token, runId });
  const emitted = RATE * SECONDS;
  // The runner lives on a worker, not in the API: it gets a process of its own here too.
  const child = fork(new URL('./live-runner.ts', import.meta.url), { stdio: 'inherit', env: { ...process.env, ...stack.env }, execArgv: [...process.execArgv, ...(process.env.BENCH_RUNNER_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_RUNNER_PROF}`] : [])] });
  const next = () => new Promise<{ cpuMs?: number }>((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`runner exited with ${code}`)));
  });
  await next();
  const done = next();
  child.send({ runId, bin: 'python3', args: ['-c', EMITTER, String(RATE), String(emitted)] } satisfies RunnerJob);
  const { cpuMs: runnerCpuMs = Number.NaN } = await done;
  // The command line heading the output is an event too.
  return { ...(await result(emitted + 1)), emitted: emitted + 1, runnerCpuMs };
}

const stack = await startBenchStack();
let failed = false;
try {
  const { api, env } = stack;
  console.log(`live events: ${WATCHERS} watchers of one run, ${PER_TICK * (1000 / TICK_MS)} lines/s for ${SECONDS} s`);
  // What each side costs the host: this process (the XADD writer, or the API with its /ws hub), the
  // watchers, the runner, Redis and PostgreSQL; two cores carry them all, so CPU turns into latency.
  const host = () => ({ self: processCpuMs(process.pid), redis: commandCpuMs('redis-server'), postgres: commandCpuMs('postgres') });
  const h0 = host();
  const raw = await baseline(api.deps.redis, env.REDIS_URL, `${env.REDIS_PREFIX}bench:baseline`);
  const h1 = host();
  const hub = await throughHub(stack);
  const h2 = host();
  const ratio = (r: WatchResult & { emitted: number }) => r.delivered / (r.emitted * WATCHERS);
  console.log(
    table([
      ['path', 'delivered/emitted', 'out of order', 'p50 ms', 'p99 ms', 'max ms'],
      ['raw XADD → XREAD', fmt(ratio(raw), 3), String(raw.outOfOrder), fmt(raw.p50), fmt(raw.p99), fmt(raw.max)],
      ['process output → /ws', fmt(ratio(hub), 3), String(hub.outOfOrder), fmt(hub.p50), fmt(hub.p99), fmt(hub.max)],
      ['ratio /ws ÷ raw', '', '', `${fmt(hub.p50 / raw.p50, 1)}×`, `${fmt(hub.p99 / raw.p99, 1)}×`, `${fmt(hub.max / raw.max, 1)}×`],
    ]),
  );
  const perK = (ms: number, r: WatchResult) => fmt((ms * 1000) / r.delivered, 1);
  console.log('\nCPU (ms) per 1,000 events delivered');
  console.log(
    table([
      ['path', 'this process', 'watchers', 'runner', 'Redis', 'PostgreSQL'],
      ['raw XADD → XREAD', perK(h1.self - h0.self, raw), perK(raw.cpuMs, raw), '', perK(h1.redis - h0.redis, raw), perK(h1.postgres - h0.postgres, raw)],
      ['process output → /ws', perK(h2.self - h1.self, hub), perK(hub.cpuMs, hub), perK(hub.runnerCpuMs, hub), perK(h2.redis - h1.redis, hub), perK(h2.postgres - h1.postgres, hub)],
    ]),
  );
  if (ratio(hub) !== 1 || hub.outOfOrder !== 0) {
    failed = true;
    console.error(`FAIL: /ws delivered ${hub.delivered} of ${hub.emitted * WATCHERS} (${hub.outOfOrder} out of order)`);
  }
} finally {
  await stack.stop();
}
process.exit(failed ? 1 : 0);
