// Alerts at volume. (1) Ingest: POST /api/v1/alerts/alertmanager (source token check, dedup row,
// timeline row; the workflow starts after the answer, and the bench says how far the starts ran
// behind) against the same Koa app answering 204 to a route that does no work, measured in the same run; each Alertmanager request opens one new alert. (2) Escalation: those
// BENCH_ALERTS open alerts escalate on ONE worker process (notify, wait 5 s, notify, wait 5 s,
// notify, to a webhook receiver): the worker's peak RSS, and how late each notification after a wait
// reached the receiver against the deadline the workflow recorded. Run: node bench/alerts.ts
// (BENCH_TRACE=1 also prints the history of the alert at the 99th percentile, times relative to its deadline;
// BENCH_WORKER_PROF=dir writes the worker process's CPU profiles there).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
// A CommonJS module: Node's ESM loader does not see its named exports.
import proto from '@temporalio/proto';
import { createApp } from '../api/app.ts';
import { AlertSchema } from '../db/entities/index.ts';
import { buildWorkflowBundles } from '../workers/bundle.ts';
import { WORKER_NODE_FLAGS } from '../workers/node-flags.ts';
import { createTeam, createUser } from '../test/fixtures/users.ts';
import { startWebhookReceiver } from '../test/peers/webhook-receiver.ts';
import { startBenchStack } from './peers.ts';
import { cpuPerRequest, fmt, hostCpu, percentile, processCpuMs, table } from './stats.ts';

const ALERTS = Math.min(Number(process.env.BENCH_ALERTS ?? 1000), 5000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const WAIT_S = 5;

async function measure(n: number, call: (i: number) => Promise<void>) {
  const latencies: number[] = [];
  let next = 0;
  const began = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < n) {
      const i = next++;
      const t = performance.now();
      await call(i);
      latencies.push(performance.now() - t);
    }
  }));
  const sorted = Float64Array.from(latencies).sort();
  return { perSecond: n / ((performance.now() - began) / 1000), p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

const rssKiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);

const stack = await startBenchStack({ RATE_LIMIT_API_PER_MINUTE: '100000000' });
const secret = `bench-${crypto.randomUUID()}`;
const hook = await startWebhookReceiver(secret);
// The same app (every middleware: errors, helmet, CORS, body parsing, a forked entity manager), plus a
// route answering 204 with no work: the floor any ingest route stands on.
const app = createApp(stack.api.deps);
app.use(async (ctx, next) => {
  if (ctx.path === '/bench/noop' && ctx.method === 'POST') ctx.status = 204;
  else await next();
});
const noopServer = http.createServer(app.callback());
await new Promise<void>((r) => noopServer.listen(0, '127.0.0.1', r));
const noopUrl = `http://127.0.0.1:${(noopServer.address() as AddressInfo).port}/bench/noop`;
let worker: ReturnType<typeof spawn> | undefined;
try {
  const { api } = stack;
  const team = await createTeam(api.deps.db.em);
  const admin = await createUser(api.deps.db.em, { teams: [team], role: 'admin' });
  const { accessToken } = await api.deps.sessions.start(api.deps.db.em.fork(), admin.id);
  const post = async (p: string, body: unknown, token = accessToken) => {
    const res = await fetch(`${api.baseUrl}${p}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
    const json = (await res.json()) as Record<string, unknown>;
    if (res.status >= 300) throw new Error(`${p} answered ${res.status}: ${JSON.stringify(json)}`);
    return json;
  };
  const webhook = (await post('/api/v1/integrations', { team: team.slug, type: 'webhook', name: 'hook', settings: { url: hook.url }, secrets: { signingSecret: secret } })).id;
  const notify = { type: 'notify_channel', integration: webhook };
  const policy = (await post('/api/v1/escalation-policies', { team: team.slug, name: 'bench', steps: [notify, { type: 'wait', seconds: WAIT_S }, notify, { type: 'wait', seconds: WAIT_S }, notify] })).id;
  const sourceToken = `bench-${crypto.randomUUID()}-${crypto.randomUUID()}`;
  const source = (await post('/api/v1/integrations', { team: team.slug, type: 'alert-source', name: 'am', settings: { policy }, secrets: { token: sourceToken } })).id;

  const payload = (i: number) => JSON.stringify({ version: '4', status: 'firing', alerts: [{ status: 'firing', labels: { alertname: 'Bench', instance: `i-${i}` }, annotations: { summary: `bench ${i}` }, fingerprint: `bench${i}` }] });
  const ingest = async (i: number) => {
    const res = await fetch(`${api.baseUrl}/api/v1/alerts/alertmanager?source=${source}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${sourceToken}` }, body: payload(i) });
    await res.arrayBuffer();
    if (res.status !== 202) throw new Error(`ingest answered ${res.status}`);
  };
  const noop = async (i: number) => {
    const res = await fetch(noopUrl, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${sourceToken}` }, body: payload(i) });
    await res.arrayBuffer();
    if (res.status !== 204) throw new Error(`noop answered ${res.status}`);
  };
  // Where the cores went: this process (the load generator and the API), the Temporal dev server and
  // PostgreSQL share the machine, so each one's CPU per request says what a request costs the whole host.
  const cpu = () => hostCpu(stack.temporalPid);
  await measure(20, noop);
  const floorCpu0 = cpu();
  const floor1 = await measure(ALERTS / 2, noop);
  const floorCpu = cpuPerRequest(floorCpu0, cpu(), ALERTS / 2);
  const ingestCpu0 = cpu();
  const ingested1 = await measure(ALERTS / 2, ingest);
  const ingested2 = await measure(ALERTS / 2, (i) => ingest(ALERTS / 2 + i));
  // The API answers once an alert's row commits and starts its escalation right after: wait until every
  // start is done (no row still marked queued), so the second floor is not measured beside them, and
  // say how long the starts ran behind the answers.
  const answered = performance.now();
  const queued = () => api.deps.db.em.fork().count(AlertSchema, { team: team.id, escalationQueuedAt: { $ne: null } });
  while ((await queued()) > 0) await new Promise((r) => setTimeout(r, 50));
  const startsBehind = performance.now() - answered;
  const ingestCpu = cpuPerRequest(ingestCpu0, cpu(), ALERTS);
  const floor2 = await measure(ALERTS / 2, noop);
  const avg = (a: { perSecond: number }, b: { perSecond: number }) => (a.perSecond + b.perSecond) / 2;
  console.log(`alert ingest: ${ALERTS} Alertmanager requests (each opens an alert and starts its escalation), ${CONCURRENCY} in flight, in 2 rounds`);
  console.log(table([
    ['path', 'requests/s', 'p50 ms', 'p99 ms'],
    ['same Koa app, 204 without work', fmt(avg(floor1, floor2), 1), fmt((floor1.p50 + floor2.p50) / 2), fmt(Math.max(floor1.p99, floor2.p99))],
    ['POST /api/v1/alerts/alertmanager', fmt(avg(ingested1, ingested2), 1), fmt((ingested1.p50 + ingested2.p50) / 2), fmt(Math.max(ingested1.p99, ingested2.p99))],
    ['ratio ingest ÷ 204', `${fmt(avg(ingested1, ingested2) / avg(floor1, floor2), 2)}×`, '', ''],
  ]));
  console.log(`\nevery escalation had started ${fmt(startsBehind / 1000, 2)} s after the last alert was answered`);
  console.log('\nCPU per request (ms), escalation starts included');
  console.log(table([
    ['path', 'this process (client + API)', 'Temporal dev server', 'PostgreSQL'],
    ['same Koa app, 204 without work', ...floorCpu],
    ['POST /api/v1/alerts/alertmanager', ...ingestCpu],
  ]));

  // One worker for all of them; the escalations have been queued since ingest. It loads a prebuilt
  // workflow bundle as a deployed worker does (npm run build:workflows): bundling in the worker itself
  // would leave webpack's gigabyte in the RSS measured here.
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'opssight-bench-work-'));
  const bundle = path.join(workDir, 'workflows.js');
  await buildWorkflowBundles(bundle, { plainOnly: true });
  const workerStarted = Date.now();
  const stormCpu0 = cpu();
  worker = spawn(process.execPath, [...WORKER_NODE_FLAGS, ...(process.env.BENCH_WORKER_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_WORKER_PROF}`] : []), 'workers/main.ts'], { env: { ...process.env, ...stack.env, WORKER_QUEUES: 'notifications', WORK_DIR: workDir, WORKFLOW_BUNDLE: bundle, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'inherit'] });
  let peak = 0;
  const sampler = setInterval(() => {
    try {
      peak = Math.max(peak, rssKiB(worker!.pid!));
    } catch {
      // exited
    }
  }, 200);
  const expected = ALERTS * 3;
  const deadline = Date.now() + 600_000;
  while (hook.deliveries.filter((d) => d.status === 200).length < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
  clearInterval(sampler);
  // What the storm cost the host per alert: the worker, the dev server and PostgreSQL (this process
  // only answers the webhook deliveries here).
  const stormCpu = cpuPerRequest(stormCpu0, cpu(), ALERTS);
  const workerCpu = fmt(processCpuMs(worker.pid!) / ALERTS);
  const delivered = hook.deliveries.filter((d) => d.status === 200);
  // How long the whole storm took: the lateness below counts from each chain's own start, which
  // itself waits for the worker to reach it; the first pages say how long that was.
  const firstPages = Float64Array.from(delivered.filter((d) => String(d.body.notification).split('.')[2] === '0').map((d) => d.at - workerStarted)).sort();
  const lastPage = Math.max(...delivered.map((d) => d.at)) - workerStarted;
  const waits = await api.deps.db.em.fork().getConnection().execute<{ alert_id: string; step: string; until: string }[]>(
    `select alert_id, data->>'step' as step, data->>'until' as until from alert_events e join alerts a on a.id = e.alert_id where a.team_id = ? and e.type = 'wait'`,
    [team.id],
  );
  const untilOf = new Map(waits.map((w) => [`${w.alert_id}/${w.step}`, Date.parse(w.until)]));
  // Notification 0.0.2.0 follows the wait at step 1, 0.0.4.0 the wait at step 3.
  const lateness = Float64Array.from(
    delivered.flatMap((d) => {
      const step = Number(String(d.body.notification).split('.')[2]);
      const due = untilOf.get(`${(d.body.alert as { id: string }).id}/${step - 1}`);
      return step > 0 && due !== undefined ? [d.at - due] : [];
    }),
  ).sort();
  // Where the lateness goes, per notification after a wait: up to the notify step's timeline entry
  // (it carries the workflow's time: the workflow task after the step's targets were resolved), from
  // there to the send's first attempt (which records when it began), and the delivery itself.
  const conn = api.deps.db.em.fork().getConnection();
  const notified = await conn.execute<{ alert_id: string; step: string; at: string }[]>(
    `select alert_id, data->>'step' as step, at from alert_events e join alerts a on a.id = e.alert_id where a.team_id = ? and e.type = 'notify'`,
    [team.id],
  );
  const notifyAt = new Map(notified.map((n) => [`${n.alert_id}/${n.step}`, new Date(n.at).getTime()]));
  const began = await conn.execute<{ alert_id: string; key: string; at: string }[]>(
    `select t.alert_id, t.key, min(t.at) as at from notification_attempts t join alerts a on a.id = t.alert_id where a.team_id = ? group by t.alert_id, t.key`,
    [team.id],
  );
  const beganAt = new Map(began.map((b) => [`${b.alert_id}/${b.key}`, new Date(b.at).getTime()]));
  const phases = { timer: [] as number[], dispatch: [] as number[], delivery: [] as number[] };
  for (const d of delivered) {
    const alertId = (d.body.alert as { id: string }).id;
    const key = String(d.body.notification);
    const step = Number(key.split('.')[2]);
    const due = untilOf.get(`${alertId}/${step - 1}`);
    const ran = notifyAt.get(`${alertId}/${step}`);
    const sendBegan = beganAt.get(`${alertId}/${key}`);
    if (step === 0 || due === undefined || ran === undefined || sendBegan === undefined) continue;
    phases.timer.push(ran - due);
    phases.dispatch.push(sendBegan - ran);
    phases.delivery.push(d.at - sendBegan);
  }
  if (process.env.BENCH_TRACE) {
    const worst = delivered.map((d) => ({ d, late: d.at - (untilOf.get(`${(d.body.alert as { id: string }).id}/${Number(String(d.body.notification).split('.')[2]) - 1}`) ?? d.at) })).sort((a, b) => b.late - a.late)[Math.floor(delivered.length * 0.01)]!;
    const id = (worst.d.body.alert as { id: string }).id;
    const history = await api.deps.temporal.workflow.getHandle(`alert-${id}`).fetchHistory();
    const due = worst.d.at - worst.late;
    console.log(`TRACE p99-ish alert ${id} notification ${String(worst.d.body.notification)} late ${worst.late} ms; events relative to its due:`);
    for (const e of history.events ?? []) {
      const t = Number(e.eventTime!.seconds) * 1000 + Math.round((e.eventTime!.nanos ?? 0) / 1e6);
      console.log(`TRACE ${String(t - due).padStart(7)} ms  ${String(e.eventId)} ${proto.temporal.api.enums.v1.EventType[e.eventType!]}`);
    }
    console.log(`TRACE delivered at ${worst.d.at - due} ms`);
  }
  const p = (xs: number[], q: number) => fmt(percentile(Float64Array.from(xs).sort(), q) / 1000, 3);
  console.log(`\nwhere the lateness goes (s, p50 / p99): due → the notify step's entry ${p(phases.timer, 50)} / ${p(phases.timer, 99)}; → the send began ${p(phases.dispatch, 50)} / ${p(phases.dispatch, 99)}; → delivered ${p(phases.delivery, 50)} / ${p(phases.delivery, 99)}`);
  // A blank line first: in markdown a line right after a table would be read as one more row.
  console.log(`\nalert escalation: ${ALERTS} open alerts on one worker process, 3 notifications each (waits of ${WAIT_S} s), ${delivered.length} of ${expected} delivered`);
  console.log(`from the worker's start: first pages p50 ${fmt(percentile(firstPages, 50) / 1000, 2)} s, p99 ${fmt(percentile(firstPages, 99) / 1000, 2)} s; the last page ${fmt(lastPage / 1000, 2)} s`);
  console.log(`\nCPU per alert during the storm (ms): worker ${workerCpu}, Temporal dev server ${stormCpu[1]}, PostgreSQL ${stormCpu[2]}, this process ${stormCpu[0]}`);
  console.log(table([
    ['measure', 'value'],
    ['worker peak RSS', `${fmt(peak / 1024, 0)} MiB`],
    ['lateness after a wait, p50', `${fmt(percentile(lateness, 50) / 1000, 3)} s`],
    ['lateness after a wait, p99', `${fmt(percentile(lateness, 99) / 1000, 3)} s`],
    ['lateness after a wait, max', `${fmt(percentile(lateness, 100) / 1000, 3)} s`],
  ]));
} finally {
  worker?.kill('SIGTERM');
  await new Promise<void>((r) => noopServer.close(() => r()));
  await hook.close();
  await stack.stop();
}
process.exit(0);
