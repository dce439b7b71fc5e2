import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { WsServerMessage } from '../../contracts/events.ts';
import { AuditLogSchema } from '../../db/entities/index.ts';
import { client, tokenFor } from '../fixtures/http.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { connectWs, type WsClient } from '../fixtures/ws.ts';
import { startApi, type TestApi } from '../peers/stack.ts';
import { ownNamespace } from '../peers/temporal.ts';
import { startWebhookReceiver } from '../peers/webhook-receiver.ts';
import { startTestWorker, type TestWorker } from '../peers/worker.ts';

// The /ws `alerts` topic against the real API, a notifications worker, Temporal, PostgreSQL and Redis:
// every change of an alert (opened, repeated, escalation steps, delivery attempts, ack, resolve)
// reaches the sockets of users who may read its team, and no one else's.
let api: TestApi;
let worker: TestWorker;
let hook: Awaited<ReturnType<typeof startWebhookReceiver>>;
const HOOK_SECRET = `hook-${crypto.randomUUID()}`;
type Team = { id: string; slug: string };
let teamA: Team;
let teamB: Team;
let adminA: ReturnType<typeof client>;
let adminB: ReturnType<typeof client>;
let operatorA: { id: string; email: string };
const sockets: WsClient[] = [];

type AlertMsg = Extract<WsServerMessage, { op: 'alert' }>;
const alertMsgs = (ws: WsClient, id?: string) => ws.messages.filter((m): m is AlertMsg => m.op === 'alert' && (!id || m.alert.id === id));

beforeAll(async () => {
  const namespace = await ownNamespace('ws-alerts');
  hook = await startWebhookReceiver(HOOK_SECRET);
  // The worker announces on the same Redis channel the API relays from: one prefix for both.
  const shared = { TEMPORAL_NAMESPACE: namespace, REDIS_PREFIX: `${process.env.REDIS_PREFIX}ws-alerts:` };
  api = await startApi(shared);
  worker = await startTestWorker({ ...shared, PUBLIC_URL: api.baseUrl }, { taskQueues: ['notifications'] });
  [teamA, teamB] = [await createTeam(api.deps.db.em), await createTeam(api.deps.db.em)];
  adminA = client(api, await tokenFor(api, (await createUser(api.deps.db.em, { teams: [teamA], role: 'admin' })).id));
  adminB = client(api, await tokenFor(api, (await createUser(api.deps.db.em, { teams: [teamB], role: 'admin' })).id));
  operatorA = await createUser(api.deps.db.em, { teams: [teamA], role: 'operator' });
}, 120_000);
afterAll(async () => {
  await Promise.all(sockets.map((s) => s.close()));
  await worker?.shutdown();
  await api?.close();
  await hook?.close();
});

/** An alert source of `team` whose alerts follow a policy of `steps`; returns its sender. */
async function source(admin: ReturnType<typeof client>, team: Team, steps: unknown[]) {
  const policy = await admin.post('/api/v1/escalation-policies', { team: team.slug, name: `p-${crypto.randomUUID().slice(0, 8)}`, steps });
  expect(policy.status).toBe(201);
  const token = `tok-${crypto.randomUUID()}-${crypto.randomUUID()}`;
  const src = await admin.post('/api/v1/integrations', { team: team.slug, type: 'alert-source', name: `src-${crypto.randomUUID().slice(0, 8)}`, settings: { policy: policy.body.id }, secrets: { token } });
  expect(src.status).toBe(201);
  return (body: unknown) => client(api, token).post(`/api/v1/alerts?source=${src.body.id}`, body);
}

async function joined(userId: string): Promise<WsClient> {
  const ws = await connectWs(api.wsUrl, await tokenFor(api, userId));
  sockets.push(ws);
  ws.send({ op: 'subscribe', topic: 'alerts' });
  await ws.waitFor(() => ws.messages.find((m) => m.op === 'subscribed' && 'topic' in m && m.topic === 'alerts'), 'alerts topic joined');
  return ws;
}

describe('/ws alerts topic', () => {
  it("streams an alert's life to its team's sockets: opened, repeated, steps, attempts, acknowledged, resolved", async () => {
    const viewerA = await createUser(api.deps.db.em, { teams: [teamA], role: 'viewer' });
    const viewerB = await createUser(api.deps.db.em, { teams: [teamB], role: 'viewer' });
    const [wsA, wsB] = await Promise.all([joined(viewerA.id), joined(viewerB.id)]);
    const hookId = (await adminA.post('/api/v1/integrations', { team: teamA.slug, type: 'webhook', name: `hook-${crypto.randomUUID().slice(0, 8)}`, settings: { url: hook.url }, secrets: { signingSecret: HOOK_SECRET } })).body.id as string;
    const sendA = await source(adminA, teamA, [{ type: 'notify_channel', integration: hookId }, { type: 'wait', seconds: 60 }]);

    const dedupKey = `ws-${crypto.randomUUID()}`;
    const id = (await sendA({ dedupKey, summary: 'latency high', severity: 'warning' })).body.alerts[0].id as string;
    const opened = await wsA.waitFor(() => alertMsgs(wsA, id).find((m) => m.change === 'opened'), 'opened', 20_000);
    expect(opened.alert).toMatchObject({ id, team: teamA.slug, status: 'firing', severity: 'warning', summary: 'latency high', count: 1 });
    await sendA({ dedupKey, summary: 'latency high' });
    expect((await wsA.waitFor(() => alertMsgs(wsA, id).find((m) => m.change === 'repeated'), 'repeated')).alert.count).toBe(2);

    // The escalation's own record, from the worker: its steps on the timeline and the delivery attempt.
    const step = await wsA.waitFor(() => alertMsgs(wsA, id).find((m) => m.change === 'timeline' && m.timeline?.type === 'notify'), 'notify step', 20_000);
    expect(step.timeline!.data).toMatchObject({ step: 0, type: 'notify_channel' });
    const attempt = await wsA.waitFor(() => alertMsgs(wsA, id).find((m) => m.change === 'notification'), 'notification attempt', 20_000);
    expect(attempt.notification).toMatchObject({ channel: 'webhook', status: 'sent', attempt: 1, key: '0.0.0.0', providerId: expect.any(String), latencyMs: expect.any(Number) });
    await wsA.waitFor(() => alertMsgs(wsA, id).find((m) => m.change === 'timeline' && m.timeline?.type === 'wait'), 'wait step', 20_000);

    const operator = client(api, await tokenFor(api, operatorA.id));
    expect((await operator.post(`/api/v1/alerts/${id}/ack`, { note: 'on it' })).status).toBe(200);
    const acked = await wsA.waitFor(() => alertMsgs(wsA, id).find((m) => m.change === 'acknowledged'), 'acknowledged', 20_000);
    expect(acked.alert).toMatchObject({ status: 'acknowledged', acknowledgedBy: operatorA.email });
    await wsA.waitFor(() => alertMsgs(wsA, id).find((m) => m.change === 'timeline' && m.timeline?.type === 'acknowledged'), 'the escalation stopping', 20_000);
    expect((await operator.post(`/api/v1/alerts/${id}/resolve`)).status).toBe(200);
    expect((await wsA.waitFor(() => alertMsgs(wsA, id).find((m) => m.change === 'resolved'), 'resolved')).alert.resolvedBy).toBe(operatorA.email);

    // Both decisions are audited with who and how.
    const audit = await api.deps.db.em.fork().find(AuditLogSchema, { resourceId: id }, { orderBy: { id: 'asc' } });
    expect(audit.map((r) => [r.action, r.actorEmail, (r.data as { via?: string } | null)?.via])).toEqual([
      ['alert.ack', operatorA.email, 'api'],
      ['alert.resolve', operatorA.email, 'api'],
    ]);

    // Team B's socket sees its own team's alert, and it arrives after everything above on the same
    // channel: none of team A's announcements reached it.
    const sendB = await source(adminB, teamB, [{ type: 'wait', seconds: 60 }]);
    const idB = (await sendB({ dedupKey: `b-${crypto.randomUUID()}`, summary: 'b only' })).body.alerts[0].id as string;
    await wsB.waitFor(() => alertMsgs(wsB, idB).find((m) => m.change === 'opened'), "team B's alert");
    expect(alertMsgs(wsB).every((m) => m.alert.team === teamB.slug)).toBe(true);
    expect(alertMsgs(wsB, id)).toHaveLength(0);
    expect(alertMsgs(wsA, idB)).toHaveLength(0);
  }, 60_000);

  it('leaving the topic stops the stream; an unknown topic is refused', async () => {
    const viewer = await createUser(api.deps.db.em, { teams: [teamA], role: 'viewer' });
    const ws = await joined(viewer.id);
    ws.send({ op: 'subscribe', topic: 'everything' });
    await ws.waitFor(() => ws.messages.find((m) => m.op === 'error'), 'refusal');
    ws.send({ op: 'unsubscribe', topic: 'alerts' });
    await ws.waitFor(() => ws.messages.find((m) => m.op === 'unsubscribed'), 'left');
    // A socket still on the topic sees the next alert; by then the one that left has been passed over.
    const witness = await joined(viewer.id);
    const send = await source(adminA, teamA, [{ type: 'wait', seconds: 60 }]);
    const id = (await send({ dedupKey: `left-${crypto.randomUUID()}`, summary: 'after leaving' })).body.alerts[0].id as string;
    await witness.waitFor(() => alertMsgs(witness, id).find((m) => m.change === 'opened'), 'the witness sees it');
    expect(alertMsgs(ws)).toHaveLength(0);
  }, 30_000);
});
