import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { stripVTControlCharacters } from 'node:util';
import { Connection } from '@temporalio/client';
import { startApi, type TestApi } from '../peers/stack.ts';
import { createNamespace } from '../peers/temporal.ts';
import { startTestWorker, type TestWorker } from '../peers/worker.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { client } from '../fixtures/http.ts';
import { connectWs, type WsClient } from '../fixtures/ws.ts';
import { blockingPlanConfig, simpleConfig, slowConfig } from '../fixtures/terraform.ts';
import { startHangingServer } from '../fixtures/hanging-http.ts';

// The whole lifecycle through the API and a WebSocket client, against the Temporal dev server,
// PostgreSQL, Redis, a real worker and the real terraform binary.
let api: TestApi;
let worker: TestWorker;
let team: { id: string; slug: string };
let operatorToken: string;
let approverToken: string;
let ws: WsClient;

const login = async (email: string, password: string) => {
  const res = await client(api).post('/api/v1/auth/login', { email, password });
  expect(res.status).toBe(200);
  return res.body.accessToken as string;
};
const workspace = () => `e2e-${crypto.randomUUID().slice(0, 8)}`;
const start = async (params: Record<string, unknown>, token = operatorToken) => {
  const res = await client(api, token).post('/api/v1/runs', { kind: 'terraform', team: team.slug, params });
  expect(res.status).toBe(201);
  ws.send({ op: 'subscribe', runId: res.body.id, after: 0 });
  return res.body.id as string;
};
/** Waits for the `runs` topic to announce `status` for the run. */
const statusReached = (runId: string, status: string) =>
  ws.waitFor(
    () => ws.messages.find((m) => m.op === 'run' && m.run.id === runId && m.run.status === status),
    `run ${runId} to become ${status}`,
    90_000,
  );
const storedEvents = async (runId: string) => (await client(api, operatorToken).get(`/api/v1/runs/${runId}/events?limit=5000`)).body.events;

// A namespace of its own: no other test file's worker may run these workflows or activities (the
// worker's metrics below must count exactly this file's runs).
let isolated: Record<string, string>;

beforeAll(async () => {
  isolated = { TEMPORAL_NAMESPACE: `e2e-${crypto.randomUUID().slice(0, 8)}` };
  const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  await createNamespace(connection, isolated.TEMPORAL_NAMESPACE!);
  await connection.close();
  api = await startApi(isolated);
  worker = await startTestWorker({ ...isolated, CANCEL_GRACE_MS: '2000', WORKER_METRICS_PORT: '0' });
  team = await createTeam(api.deps.db.em);
  const operator = await createUser(api.deps.db.em, { teams: [team], role: 'operator' });
  const approver = await createUser(api.deps.db.em, { teams: [team], role: 'approver' });
  operatorToken = await login(operator.email, operator.password);
  approverToken = await login(approver.email, approver.password);
  ws = await connectWs(api.wsUrl, operatorToken);
  ws.send({ op: 'subscribe', topic: 'runs' });
  // Confirmed only once Redis has the subscription: status messages published earlier would be missed.
  await ws.waitFor(() => ws.messages.find((m) => m.op === 'subscribed' && 'topic' in m), 'the runs topic subscription');
});
afterAll(async () => {
  await ws?.close();
  await worker?.shutdown();
  await api?.close();
});

describe('a Terraform run through the API', () => {
  it('plans, waits for approval, applies, and the socket delivered exactly the stored events', async () => {
    const runId = await start({ workspace: workspace(), files: slowConfig(1, 2), variables: { unused: 'x' } });
    await ws.waitForEvent(runId, (e) => e.type === 'log' && /Plan: 1 to add, 0 to change, 0 to destroy/.test(stripVTControlCharacters(e.message)), 'plan output');
    await statusReached(runId, 'awaiting_approval');
    const waiting = await client(api, operatorToken).get(`/api/v1/runs/${runId}`);
    expect(waiting.body.summary).toMatchObject({ add: 1, change: 0, destroy: 0 });

    // An operator may not approve; an approver may, exactly once.
    expect((await client(api, operatorToken).post(`/api/v1/runs/${runId}/approve`, { comment: 'me' })).status).toBe(403);
    const approved = await client(api, approverToken).post(`/api/v1/runs/${runId}/approve`, { comment: 'looks right' });
    expect(approved.status).toBe(200);
    expect((await client(api, approverToken).post(`/api/v1/runs/${runId}/approve`, {})).status).toBe(409);

    await statusReached(runId, 'succeeded');
    await ws.waitForEvent(runId, (e) => e.type === 'status' && e.data?.status === 'succeeded', 'final status event');
    const events = ws.events(runId);
    expect(events.some((e) => e.type === 'log' && /progress 2/.test(e.message))).toBe(true);
    expect(events.some((e) => e.type === 'log' && /Apply complete! Resources: 1 added/.test(stripVTControlCharacters(e.message)))).toBe(true);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(await storedEvents(runId)).toEqual(events);

    const run = (await client(api, operatorToken).get(`/api/v1/runs/${runId}`)).body;
    expect(run).toMatchObject({ status: 'succeeded', approval: { decision: 'approved', comment: 'looks right' }, finishedAt: expect.any(String) });
    const audit = await api.deps.db.em.fork().execute<{ action: string }[]>('select action from audit_log where resource_id = ? order by id', [runId]);
    expect(audit.map((a) => a.action)).toEqual(['run.start', 'run.approve']);

    // The worker that recorded the outcome counts it, and times every activity it ran.
    const metrics = await (await fetch(`http://127.0.0.1:${worker.metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/opssight_run_outcomes_total\{kind="terraform",status="succeeded"\} [1-9]/);
    expect(metrics).toMatch(/opssight_activity_duration_seconds_count\{activity="terraformApply",outcome="completed"\} [1-9]/);
  });

  it('succeeds without approval when the plan has no changes', async () => {
    const ws1 = workspace();
    const first = await start({ workspace: ws1, files: simpleConfig('same'), autoApply: true }, approverToken);
    await statusReached(first, 'succeeded');
    const second = await start({ workspace: ws1, files: simpleConfig('same') });
    await statusReached(second, 'succeeded');
    const events = ws.events(second);
    expect(events.some((e) => e.type === 'status' && e.data?.status === 'awaiting_approval')).toBe(false);
    expect((await client(api, operatorToken).get(`/api/v1/runs/${second}`)).body.summary).toMatchObject({ add: 0, change: 0, destroy: 0 });
  });

  it('ends a rejected run without applying it', async () => {
    const runId = await start({ workspace: workspace(), files: simpleConfig() });
    await statusReached(runId, 'awaiting_approval');
    const rejected = await client(api, approverToken).post(`/api/v1/runs/${runId}/reject`, { comment: 'not today' });
    expect(rejected.status).toBe(200);
    await statusReached(runId, 'discarded');
    const run = (await client(api, operatorToken).get(`/api/v1/runs/${runId}`)).body;
    expect(run.approval).toMatchObject({ decision: 'rejected', comment: 'not today' });
    expect(ws.events(runId).some((e) => e.type === 'log' && /Apply complete/.test(e.message))).toBe(false);
  });

  it('applies a decision only to the wait it was made on: an approval of a plan that went stale never approves the next one', async () => {
    const runId = await start({ workspace: workspace(), files: simpleConfig() });
    await statusReached(runId, 'awaiting_approval');
    const firstWait = (await client(api, operatorToken).get(`/api/v1/runs/${runId}`)).body;
    expect(firstWait.waitingSince).toEqual(expect.any(String));
    const waits = () => ws.events(runId).filter((e) => e.type === 'status' && e.data?.status === 'awaiting_approval');
    // The saved plan is gone by the time of the apply, which then plans again and waits anew (as after a
    // stale plan). Both approvers read the first plan's page; one approves it.
    await api.deps.db.em.fork().execute('delete from terraform_plans where run_id = ?', [runId]);
    const first = await client(api, approverToken).post(`/api/v1/runs/${runId}/approve`, { comment: 'first plan', waitingSince: firstWait.waitingSince });
    expect(first.status).toBe(200);
    await ws.waitFor(() => (waits().length === 2 ? true : undefined), 'the second plan\'s wait');

    // The other approver's click, made on the first plan's page, arrives during the second plan's wait.
    const late = await client(api, approverToken).post(`/api/v1/runs/${runId}/approve`, { comment: 'late', waitingSince: firstWait.waitingSince });
    expect(late.status).toBe(409);
    expect(late.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(late.body.detail).toMatch(/planned again/);
    const secondWait = (await client(api, operatorToken).get(`/api/v1/runs/${runId}`)).body;
    expect(secondWait).toMatchObject({ status: 'awaiting_approval', approval: null });
    expect(late.body.waitingSince).toBe(secondWait.waitingSince);
    expect(secondWait.waitingSince).not.toBe(firstWait.waitingSince);

    const approved = await client(api, approverToken).post(`/api/v1/runs/${runId}/approve`, { comment: 'second plan', waitingSince: secondWait.waitingSince });
    expect(approved.status).toBe(200);
    await statusReached(runId, 'succeeded');
    const run = (await client(api, operatorToken).get(`/api/v1/runs/${runId}`)).body;
    expect(run.approval).toMatchObject({ decision: 'approved', comment: 'second plan' });
    const audit = await api.deps.db.em.fork().execute<{ action: string }[]>('select action from audit_log where resource_id = ? order by id', [runId]);
    expect(audit.map((a) => a.action)).toEqual(['run.start', 'run.approve', 'run.approve']);
  });

  it('cancels a run during a plan that is blocked, and frees the workspace', async () => {
    const upstream = await startHangingServer();
    try {
      const ws1 = workspace();
      const runId = await start({ workspace: ws1, files: blockingPlanConfig(upstream.url) });
      await upstream.requested;
      const cancelled = await client(api, operatorToken).post(`/api/v1/runs/${runId}/cancel`);
      expect(cancelled.status).toBe(202);
      await statusReached(runId, 'cancelled');
      // The state lock went with the terraform process: the next run on the workspace plans normally.
      const next = await start({ workspace: ws1, files: simpleConfig(), autoApply: true }, approverToken);
      await statusReached(next, 'succeeded');
    } finally {
      await upstream.close();
    }
  });

  it('ends as timed_out when nobody decides in time', async () => {
    const shortApi = await startApi({ ...isolated, APPROVAL_TIMEOUT_SECONDS: '2' });
    try {
      const res = await client(shortApi, operatorToken).post('/api/v1/runs', {
        kind: 'terraform',
        team: team.slug,
        params: { workspace: workspace(), files: simpleConfig() },
      });
      expect(res.status).toBe(201);
      await statusReached(res.body.id, 'timed_out');
      expect((await client(api, approverToken).post(`/api/v1/runs/${res.body.id}/approve`, {})).status).toBe(409);
    } finally {
      await shortApi.close();
    }
  });

  it('delivers exactly the missing events to a client that reconnects with after', async () => {
    const runId = await start({ workspace: workspace(), files: simpleConfig(), autoApply: true }, approverToken);
    await statusReached(runId, 'succeeded');
    const all = await storedEvents(runId);
    const cut = Math.floor(all.length / 2);
    const again = await connectWs(api.wsUrl, operatorToken);
    try {
      again.send({ op: 'subscribe', runId, after: all[cut - 1].seq });
      const replayed = await again.waitFor(() => (again.events(runId).length >= all.length - cut ? again.events(runId) : undefined), 'replay');
      expect(replayed).toEqual(all.slice(cut));
    } finally {
      await again.close();
    }
  });
});
