// Run-start throughput: POST /api/v1/runs (validation, access check, run row + audit row, the
// "queued" event, workflow start) against the bare Temporal client starting the same workflow type
// on the same task queue of the same dev server, measured in the same run. No worker runs: the
// workflows only queue, and are terminated at the end. Two rounds in alternating order, so neither
// side gets all the warm caches. Run: npm run bench (or node bench/run-start.ts).
import { KINDS } from '../contracts/kinds/index.ts';
import type { TerraformRunInput } from '../contracts/temporal.ts';
import { createTeam, createUser } from '../test/fixtures/users.ts';
import { startBenchStack } from './peers.ts';
import { cpuPerRequest, fmt, hostCpu, percentile, table, type HostCpu } from './stats.ts';

const RUNS = Math.min(Number(process.env.BENCH_RUNS ?? 200), 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const WARMUP = 10;
const kind = KINDS.terraform!;
const files = { 'main.tf': 'resource "terraform_data" "bench" {\n  input = "bench"\n}\n' };

type Sample = { seconds: number; latencies: number[] };

/** Runs `start(i)` for i in [0, n) with `CONCURRENCY` in flight; wall time and per-call latency. */
async function measure(n: number, start: (i: number) => Promise<void>): Promise<Sample> {
  const latencies: number[] = [];
  let next = 0;
  const began = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < n) {
        const i = next++;
        const t = performance.now();
        await start(i);
        latencies.push(performance.now() - t);
      }
    }),
  );
  return { seconds: (performance.now() - began) / 1000, latencies };
}

const stack = await startBenchStack({ RATE_LIMIT_API_PER_MINUTE: '1000000' });
const workflowIds: string[] = [];
try {
  const { api } = stack;
  const team = await createTeam(api.deps.db.em);
  const operator = await createUser(api.deps.db.em, { teams: [team], role: 'operator' });
  const { accessToken: token } = await api.deps.sessions.start(api.deps.db.em.fork(), operator.id);
  let workspace = 0;

  const viaApi = async () => {
    const res = await fetch(`${api.baseUrl}/api/v1/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      // One workspace allows one active run, so each run gets its own.
      body: JSON.stringify({ kind: 'terraform', team: team.slug, params: { workspace: `bench-${workspace++}`, files } }),
    });
    const body = (await res.json()) as { id?: string };
    if (res.status !== 201 || !body.id) throw new Error(`POST /api/v1/runs answered ${res.status}: ${JSON.stringify(body)}`);
    workflowIds.push(body.id);
  };
  const bare = async () => {
    const id = crypto.randomUUID();
    const input: TerraformRunInput = {
      runId: id,
      teamId: team.id,
      params: { workspace: `bare-${workspace++}`, files, variables: {}, autoApply: false },
      approvalTimeoutMs: api.config.APPROVAL_TIMEOUT_SECONDS * 1000,
    };
    await api.deps.temporal.workflow.start(kind.workflowType, { taskQueue: kind.taskQueue, workflowId: id, args: [input] });
    workflowIds.push(id);
  };

  await measure(WARMUP, viaApi);
  await measure(WARMUP, bare);
  const rounds = { api: [] as Sample[], bare: [] as Sample[] };
  // What each side's starts cost this process (load generator, API), the dev server and PostgreSQL.
  const cpuUsed = { api: { bench: 0, temporal: 0, postgres: 0 }, bare: { bench: 0, temporal: 0, postgres: 0 } };
  for (const order of [['bare', 'api'], ['api', 'bare']] as const) {
    for (const side of order) {
      const before = hostCpu(stack.temporalPid);
      rounds[side].push(await measure(RUNS, side === 'api' ? viaApi : bare));
      const after = hostCpu(stack.temporalPid);
      for (const k of Object.keys(after) as (keyof HostCpu)[]) cpuUsed[side][k] += after[k] - before[k];
    }
  }

  const summary = (samples: Sample[]) => {
    const seconds = samples.reduce((s, x) => s + x.seconds, 0);
    const sorted = Float64Array.from(samples.flatMap((x) => x.latencies)).sort();
    return { perSecond: (samples.length * RUNS) / seconds, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
  };
  const a = summary(rounds.api);
  const b = summary(rounds.bare);
  console.log(`run start: ${2 * RUNS} starts per side in 2 alternating rounds, ${CONCURRENCY} in flight, no worker`);
  console.log(
    table([
      ['path', 'starts/s', 'p50 ms', 'p99 ms'],
      ['bare Temporal client', fmt(b.perSecond, 1), fmt(b.p50), fmt(b.p99)],
      ['POST /api/v1/runs', fmt(a.perSecond, 1), fmt(a.p50), fmt(a.p99)],
      ['ratio API ÷ bare', `${fmt(a.perSecond / b.perSecond, 2)}×`, `${fmt(a.p50 / b.p50, 1)}×`, `${fmt(a.p99 / b.p99, 1)}×`],
    ]),
  );
  const zero: HostCpu = { bench: 0, temporal: 0, postgres: 0 };
  console.log('\nCPU per start (ms)');
  console.log(
    table([
      ['path', 'this process (client + API)', 'Temporal dev server', 'PostgreSQL'],
      ['bare Temporal client', ...cpuPerRequest(zero, cpuUsed.bare, 2 * RUNS)],
      ['POST /api/v1/runs', ...cpuPerRequest(zero, cpuUsed.api, 2 * RUNS)],
    ]),
  );
} finally {
  // Queued workflows would otherwise sit on the dev server; it is stopped next anyway, but be tidy.
  const client = stack.api.deps.temporal;
  for (let i = 0; i < workflowIds.length; i += 50) {
    await Promise.all(workflowIds.slice(i, i + 50).map((id) => client.workflow.getHandle(id).terminate('benchmark done').catch(() => undefined)));
  }
  await stack.stop();
}
process.exit(0);
