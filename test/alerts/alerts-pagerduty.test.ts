import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { alertThrough, attemptsOf, useNotificationStack } from '../fixtures/notifications.ts';
import { until } from '../fixtures/until.ts';
import { startPagerDutyPeer } from '../peers/pagerduty.ts';

// The PagerDuty channel against a peer answering the Events API v2 as documented.
const s = useNotificationStack('pagerduty');
let pd: Awaited<ReturnType<typeof startPagerDutyPeer>>;
const routingKey = crypto.randomUUID().replaceAll('-', '');

beforeAll(async () => {
  pd = await startPagerDutyPeer([routingKey]);
});
afterAll(async () => {
  await pd?.close();
});

/** An alert paged through a pagerduty integration with routing key `key`: its id. */
async function pagedThrough(key: string, alert: Record<string, unknown>): Promise<string> {
  const integration = await s.admin.post('/api/v1/integrations', { team: s.team.slug, type: 'pagerduty', name: `pd-${crypto.randomUUID().slice(0, 8)}`, settings: { apiUrl: pd.url }, secrets: { routingKey: key } });
  expect(integration.status).toBe(201);
  return alertThrough(s, [{ type: 'notify_channel', integration: integration.body.id }], alert);
}

it('triggers one event per notification with the alert id as dedup_key; a 429 is retried', async () => {
  pd.control.rateLimitNext = 1;
  const id = await pagedThrough(routingKey, { summary: 'api 5xx rate', severity: 'warning' });
  const attempts = await attemptsOf(s, id, 2);
  expect(attempts.map((n) => [n.channel, n.attempt, n.status, n.providerId])).toEqual([['pagerduty', 1, 'failed', null], ['pagerduty', 2, 'sent', id]]);
  expect(attempts[0]!.error).toMatch(/HTTP 429/);
  expect(pd.events.filter((e) => e.dedup_key === id)).toEqual([expect.objectContaining({ event_action: 'trigger', routing_key: routingKey, payload: expect.objectContaining({ summary: 'api 5xx rate', severity: 'warning', source: 'opssight' }) })]);
  await s.admin.post(`/api/v1/alerts/${id}/resolve`);
});

it('a routing key PagerDuty does not know is a failed attempt naming its answer', async () => {
  const id = await pagedThrough('0'.repeat(32), { summary: 'wrong key' });
  const [first] = await attemptsOf(s, id, 1);
  expect(first).toMatchObject({ channel: 'pagerduty', status: 'failed', error: expect.stringContaining('Invalid routing key') });
  await s.admin.post(`/api/v1/alerts/${id}/resolve`);
});

it('an acknowledge and a resolve in OpsSight reach the PagerDuty incident, once each, on record', async () => {
  const id = await pagedThrough(routingKey, { summary: 'disk full', severity: 'critical' });
  await attemptsOf(s, id, 1);
  const actions = () => pd.events.filter((e) => e.dedup_key === id).map((e) => e.event_action);
  expect((await s.admin.post(`/api/v1/alerts/${id}/ack`)).status).toBe(200);
  await until('the acknowledge to reach PagerDuty', async () => (actions().includes('acknowledge') ? true : undefined));
  expect((await s.admin.post(`/api/v1/alerts/${id}/resolve`)).status).toBe(200);
  await until('the resolve to reach PagerDuty', async () => (actions().includes('resolve') ? true : undefined));
  expect(actions()).toEqual(['trigger', 'acknowledge', 'resolve']);
  const attempts = await attemptsOf(s, id, 3);
  expect(attempts.map((n) => [n.channel, n.target, n.status])).toEqual(
    expect.arrayContaining([['pagerduty', 'acknowledge', 'sent'], ['pagerduty', 'resolve', 'sent']]),
  );
});
