import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { AuditLogSchema } from '../../db/entities/index.ts';
import { client, tokenFor } from '../fixtures/http.ts';
import { until } from '../fixtures/until.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { startSlackPeer } from '../peers/slack.ts';
import { startApi, type TestApi } from '../peers/stack.ts';
import { ownNamespace } from '../peers/temporal.ts';
import { startTestWorker, type TestWorker } from '../peers/worker.ts';

// The Slack channel through the real @slack/web-api client against a local Slack peer, and Slack's
// signed button clicks coming back to the interactivity endpoint.
let api: TestApi;
let worker: TestWorker;
let slack: Awaited<ReturnType<typeof startSlackPeer>>;
let admin: ReturnType<typeof client>;
let send: (body: unknown) => ReturnType<ReturnType<typeof client>['post']>;
let slackId: string;
const secrets = { botToken: `xoxb-${crypto.randomUUID()}`, signingSecret: `signing-${crypto.randomUUID()}` };
const app = { ...secrets, channels: ['C0OPS'] };

beforeAll(async () => {
  const namespace = await ownNamespace('slack');
  slack = await startSlackPeer(app);
  api = await startApi({ TEMPORAL_NAMESPACE: namespace, REDIS_PREFIX: `${process.env.REDIS_PREFIX}slack:` });
  worker = await startTestWorker({ TEMPORAL_NAMESPACE: namespace }, { taskQueues: ['notifications'] });
  const team = await createTeam(api.deps.db.em);
  admin = client(api, await tokenFor(api, (await createUser(api.deps.db.em, { teams: [team], role: 'admin' })).id));
  const slackRes = await admin.post('/api/v1/integrations', { team: team.slug, type: 'slack', name: 'ops-slack', settings: { channel: 'C0OPS', apiUrl: slack.apiUrl }, secrets });
  expect(slackRes.status).toBe(201);
  slackId = slackRes.body.id;
  const policy = await admin.post('/api/v1/escalation-policies', { team: team.slug, name: 'slack', steps: [{ type: 'notify_channel', integration: slackId }, { type: 'wait', seconds: 60 }] });
  expect(policy.status).toBe(201);
  const token = `src-${crypto.randomUUID()}-${crypto.randomUUID()}`;
  const source = await admin.post('/api/v1/integrations', { team: team.slug, type: 'alert-source', name: 'src', settings: { policy: policy.body.id }, secrets: { token } });
  send = (body) => client(api, token).post(`/api/v1/alerts?source=${source.body.id}`, body);
}, 120_000);
afterAll(async () => {
  await worker?.shutdown();
  await api?.close();
  await slack?.close();
});

const detail = async (id: string) => (await admin.get(`/api/v1/alerts/${id}`)).body;
const actionsUrl = () => `${api.baseUrl}/api/v1/alerts/slack/actions?source=${slackId}`;

it('posts with buttons; a 429 and a 500 are retried and recorded; a signed Acknowledge click acknowledges', async () => {
  slack.control.rateLimitNext = 1;
  slack.control.failNext = 1;
  const id = (await send({ dedupKey: `slack-${crypto.randomUUID()}`, summary: 'queue backlog' })).body.alerts[0].id as string;
  const post = await until('the Slack message', async () => slack.posts.find((p) => p.text.includes('queue backlog')), 20_000);
  expect(post.channel).toBe('C0OPS');
  expect(JSON.stringify(post.blocks)).toContain(`"value":"${id}"`);
  const d = await until('the sent attempt', async () => {
    const body = await detail(id);
    return body.notifications.some((n: { status: string }) => n.status === 'sent') ? body : undefined;
  });
  expect(d.notifications.map((n: Record<string, unknown>) => [n.channel, n.attempt, n.status])).toEqual([['slack', 1, 'failed'], ['slack', 2, 'failed'], ['slack', 3, 'sent']]);
  expect(d.notifications[2].providerId).toBe(post.ts);

  const forged = await slack.click(actionsUrl(), { actionId: 'ack', value: id, username: 'mallory' }, 'not-the-signing-secret');
  expect(forged.status).toBe(401);
  expect((await detail(id)).status).toBe('firing');

  const ack = await slack.click(actionsUrl(), { actionId: 'ack', value: id, username: 'carol' });
  expect(ack).toEqual({ status: 200, body: { text: 'Acknowledged by slack:carol: queue backlog' } });
  expect(await detail(id)).toMatchObject({ status: 'acknowledged', acknowledgedBy: 'slack:carol' });
  const resolve = await slack.click(actionsUrl(), { actionId: 'resolve', value: id, username: 'carol' });
  expect(resolve.body.text).toMatch(/^Resolved by slack:carol/);
  expect((await slack.click(actionsUrl(), { actionId: 'resolve', value: id, username: 'carol' })).body.text).toBe('This alert is already resolved.');
  // Each click that decided something is audited: who in Slack, through which integration.
  const audit = await api.deps.db.em.fork().find(AuditLogSchema, { resourceId: id }, { orderBy: { id: 'asc' } });
  expect(audit.map((r) => [r.action, r.actorId, r.data])).toEqual([
    ['alert.ack', null, expect.objectContaining({ by: 'slack:carol', via: 'slack', integration: slackId })],
    ['alert.resolve', null, expect.objectContaining({ by: 'slack:carol', via: 'slack', integration: slackId })],
  ]);
});

it('a wrong bot token is a failed attempt naming Slack’s error; an alert of another team cannot be clicked', async () => {
  const other = await createTeam(api.deps.db.em);
  const foreign = await api.deps.db.em.fork().getConnection().execute<{ id: string }[]>(
    `insert into alerts (id, team_id, dedup_key, status, severity, summary, details, labels, count, first_seen_at, last_seen_at) values (gen_random_uuid(), ?, 'x', 'firing', 'error', 'theirs', '{}', '{}', 1, now(), now()) returning id`,
    [other.id],
  );
  expect((await slack.click(actionsUrl(), { actionId: 'ack', value: foreign[0]!.id, username: 'carol' })).status).toBe(404);
  const stale = await admin.patch(`/api/v1/integrations/${slackId}`, { secrets: { ...secrets, botToken: 'xoxb-revoked' } });
  expect(stale.status).toBe(200);
  const id = (await send({ dedupKey: `revoked-${crypto.randomUUID()}`, summary: 'revoked token' })).body.alerts[0].id as string;
  const d = await until('a failed attempt', async () => {
    const body = await detail(id);
    return body.notifications.length ? body : undefined;
  });
  expect(d.notifications[0]).toMatchObject({ channel: 'slack', status: 'failed', error: expect.stringContaining('invalid_auth') });
  await admin.post(`/api/v1/alerts/${id}/resolve`);
  await admin.patch(`/api/v1/integrations/${slackId}`, { secrets });
});
