import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { client, tokenFor } from '../fixtures/http.ts';
import { until } from '../fixtures/until.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { startPagerDutyPeer } from '../peers/pagerduty.ts';
import { startApi, type TestApi } from '../peers/stack.ts';
import { ownNamespace } from '../peers/temporal.ts';
import { startTestWorker, type TestWorker } from '../peers/worker.ts';

// The PagerDuty channel against a peer answering the Events API v2 as documented.
let api: TestApi;
let worker: TestWorker;
let pd: Awaited<ReturnType<typeof startPagerDutyPeer>>;
let admin: ReturnType<typeof client>;
let team: { id: string; slug: string };
const routingKey = crypto.randomUUID().replaceAll('-', '');

beforeAll(async () => {
  const namespace = await ownNamespace('pagerduty');
  pd = await startPagerDutyPeer([routingKey]);
  api = await startApi({ TEMPORAL_NAMESPACE: namespace, REDIS_PREFIX: `${process.env.REDIS_PREFIX}pd:` });
  worker = await startTestWorker({ TEMPORAL_NAMESPACE: namespace }, { taskQueues: ['notifications'] });
  team = await createTeam(api.deps.db.em);
  admin = client(api, await tokenFor(api, (await createUser(api.deps.db.em, { teams: [team], role: 'admin' })).id));
}, 120_000);
afterAll(async () => {
  await worker?.shutdown();
  await api?.close();
  await pd?.close();
});

async function sourceFor(key: string) {
  const integration = await admin.post('/api/v1/integrations', { team: team.slug, type: 'pagerduty', name: `pd-${crypto.randomUUID().slice(0, 8)}`, settings: { apiUrl: pd.url }, secrets: { routingKey: key } });
  expect(integration.status).toBe(201);
  const policy = await admin.post('/api/v1/escalation-policies', { team: team.slug, name: `pd-${crypto.randomUUID().slice(0, 8)}`, steps: [{ type: 'notify_channel', integration: integration.body.id }, { type: 'wait', seconds: 60 }] });
  const token = `src-${crypto.randomUUID()}-${crypto.randomUUID()}`;
  const source = await admin.post('/api/v1/integrations', { team: team.slug, type: 'alert-source', name: `src-${crypto.randomUUID().slice(0, 8)}`, settings: { policy: policy.body.id }, secrets: { token } });
  return (body: unknown) => client(api, token).post(`/api/v1/alerts?source=${source.body.id}`, body);
}
const notifications = async (id: string, n: number) =>
  until(`${n} attempts`, async () => {
    const body = (await admin.get(`/api/v1/alerts/${id}`)).body;
    return body.notifications.length >= n ? body.notifications : undefined;
  });

it('triggers one event per notification with the alert id as dedup_key; a 429 is retried', async () => {
  pd.control.rateLimitNext = 1;
  const send = await sourceFor(routingKey);
  const id = (await send({ dedupKey: `pd-${crypto.randomUUID()}`, summary: 'api 5xx rate', severity: 'warning' })).body.alerts[0].id as string;
  const attempts = await notifications(id, 2);
  expect(attempts.map((n: Record<string, unknown>) => [n.channel, n.attempt, n.status, n.providerId])).toEqual([['pagerduty', 1, 'failed', null], ['pagerduty', 2, 'sent', id]]);
  expect(attempts[0].error).toMatch(/HTTP 429/);
  expect(pd.events.filter((e) => e.dedup_key === id)).toEqual([expect.objectContaining({ event_action: 'trigger', routing_key: routingKey, payload: expect.objectContaining({ summary: 'api 5xx rate', severity: 'warning', source: 'opssight' }) })]);
  await admin.post(`/api/v1/alerts/${id}/resolve`);
});

it('a routing key PagerDuty does not know is a failed attempt naming its answer', async () => {
  const send = await sourceFor('0'.repeat(32));
  const id = (await send({ dedupKey: `pd-${crypto.randomUUID()}`, summary: 'wrong key' })).body.alerts[0].id as string;
  const [first] = await notifications(id, 1);
  expect(first).toMatchObject({ channel: 'pagerduty', status: 'failed', error: expect.stringContaining('Invalid routing key') });
  await admin.post(`/api/v1/alerts/${id}/resolve`);
});

it('an acknowledge and a resolve in OpsSight reach the PagerDuty incident, once each, on record', async () => {
  const send = await sourceFor(routingKey);
  const id = (await send({ dedupKey: `pd-${crypto.randomUUID()}`, summary: 'disk full', severity: 'critical' })).body.alerts[0].id as string;
  await notifications(id, 1);
  const actions = () => pd.events.filter((e) => e.dedup_key === id).map((e) => e.event_action);
  expect((await admin.post(`/api/v1/alerts/${id}/ack`)).status).toBe(200);
  await until('the acknowledge to reach PagerDuty', async () => (actions().includes('acknowledge') ? true : undefined));
  expect((await admin.post(`/api/v1/alerts/${id}/resolve`)).status).toBe(200);
  await until('the resolve to reach PagerDuty', async () => (actions().includes('resolve') ? true : undefined));
  expect(actions()).toEqual(['trigger', 'acknowledge', 'resolve']);
  const attempts = await notifications(id, 3);
  expect(attempts.map((n: Record<string, unknown>) => [n.channel, n.target, n.status])).toEqual(
    expect.arrayContaining([['pagerduty', 'acknowledge', 'sent'], ['pagerduty', 'resolve', 'sent']]),
  );
});
