import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { escalationWorkflowId } from '../../contracts/alerts/escalation.ts';
import { AuditLogSchema } from '../../db/entities/index.ts';
import { alertThrough, attemptsOf, useNotificationStack } from '../fixtures/notifications.ts';
import { until } from '../fixtures/until.ts';
import { slackClick, startSlackWebhookPeer } from '../peers/slack.ts';

// The Slack incoming-webhook channel through the real @slack/webhook client against a local peer
// answering as Slack's webhooks do; buttons and signed clicks when the app's signing secret is kept.
const s = useNotificationStack('slack-webhook');
let slack: Awaited<ReturnType<typeof startSlackWebhookPeer>>;
beforeAll(async () => {
  slack = await startSlackWebhookPeer();
});
afterAll(async () => {
  await slack?.close();
});

async function webhookIntegration(hook: { url: string }, secrets: Record<string, string> = {}) {
  const res = await s.admin.post('/api/v1/integrations', { team: s.team.slug, type: 'slack-webhook', name: `hook-${crypto.randomUUID().slice(0, 8)}`, settings: { channel: '#ops' }, secrets: { webhookUrl: hook.url, ...secrets } });
  expect(res.status).toBe(201);
  return res.body.id as string;
}
const detail = async (id: string) => (await s.admin.get(`/api/v1/alerts/${id}`)).body;
const gaveUp = (id: string) => until(`the escalation of ${id} to give up on the channel`, async () => ((await detail(id)).timeline.some((t: { type: string }) => t.type === 'notification.failed') ? true : undefined), 30_000);
/** Everything anyone can read about the alert and the integration: API answers, audit rows, the workflow's history. */
async function everythingAbout(alertId: string, integrationId: string): Promise<string> {
  const history = await s.api.deps.temporal.workflow.getHandle(escalationWorkflowId(alertId)).fetchHistory();
  const audit = await s.api.deps.db.em.fork().find(AuditLogSchema, { resourceId: { $in: [alertId, integrationId] } });
  const list = await s.admin.get(`/api/v1/integrations?team=${s.team.slug}`);
  return JSON.stringify([await detail(alertId), (await s.admin.get(`/api/v1/integrations/${integrationId}`)).body, list.body, audit, history]);
}

it('posts the same message without buttons; a 500 and a 429 are retried (the 429 after its Retry-After), each attempt on record', async () => {
  const hook = slack.create('#ops');
  const integration = await webhookIntegration(hook);
  slack.refuseNext({ status: 500, body: 'rollup_error' }, { status: 429, body: 'rate_limited', retryAfter: '4' });
  const id = await alertThrough(s, [{ type: 'notify_channel', integration }], { summary: 'queue backlog', severity: 'critical' });
  const attempts = await attemptsOf(s, id, 3);
  expect(attempts.map((a) => [a.channel, a.attempt, a.status, a.providerId, a.error])).toEqual([
    ['slack-webhook', 1, 'failed', null, "Slack's incoming webhook answered HTTP 500: rollup_error"],
    ['slack-webhook', 2, 'failed', null, "Slack's incoming webhook answered HTTP 429: rate_limited"],
    ['slack-webhook', 3, 'sent', null, null],
  ]);
  const [post, ...more] = slack.posts.filter((p) => p.hook === hook.path);
  expect(more).toHaveLength(0);
  expect(post!.text).toBe('[CRITICAL] queue backlog');
  // The chat.postMessage message's section, and no actions block: nobody could verify a click.
  expect(post!.blocks).toEqual([{ type: 'section', text: { type: 'mrkdwn', text: expect.stringContaining(`Alert \`${id}\``) } }]);
  // Temporal's own backoff would have retried 2 s after the second attempt; Slack asked for 4.
  const [, limited, ok] = slack.tries.filter((t) => t.hook === hook.path);
  expect(ok!.at - limited!.at).toBeGreaterThanOrEqual(3_900);

  const seen = await everythingAbout(id, integration);
  expect(seen).toContain(integration);
  expect(seen).not.toContain(hook.path.split('/').pop());
}, 60_000);

it.each([
  ['an archived channel', 410, 'channel_is_archived', (h: ReturnType<typeof slack.create>) => h.archive()],
  ['a revoked webhook', 404, 'no_service', (h: ReturnType<typeof slack.create>) => h.revoke()],
])('%s (HTTP %i %s) is one failed attempt, not retried, and its URL appears nowhere', async (_what, status, code, spoil) => {
  const hook = slack.create('#ops');
  const integration = await webhookIntegration(hook);
  spoil(hook);
  const id = await alertThrough(s, [{ type: 'notify_channel', integration }], { summary: `spoilt ${code}` });
  await gaveUp(id);
  expect((await detail(id)).notifications.map((a: { status: string; error: string }) => [a.status, a.error])).toEqual([['failed', `Slack's incoming webhook answered HTTP ${status}: ${code}`]]);
  expect(slack.tries.filter((t) => t.hook === hook.path).map((t) => t.status)).toEqual([status]);
  expect(await everythingAbout(id, integration)).not.toContain(hook.path.split('/').pop());
}, 60_000);

it("with the app's signing secret the message carries the buttons, and a signed click acknowledges", async () => {
  const signingSecret = `signing-${crypto.randomUUID()}`;
  const hook = slack.create('#ops');
  const integration = await webhookIntegration(hook, { signingSecret });
  const plain = await webhookIntegration(slack.create('#ops'));
  const id = await alertThrough(s, [{ type: 'notify_channel', integration }], { summary: 'cert expiring' });
  const post = await until('the webhook post', async () => slack.posts.find((p) => p.hook === hook.path), 20_000);
  expect(post.blocks[1]).toMatchObject({ type: 'actions', elements: [{ action_id: 'ack', value: id }, { action_id: 'resolve', value: id }] });

  const actions = (source: string) => `${s.api.baseUrl}/api/v1/alerts/slack/actions?source=${source}`;
  // A webhook kept without a signing secret posts no buttons: no click can be its, whatever it is signed with.
  expect((await slackClick(actions(plain), { actionId: 'ack', value: id, username: 'mallory' }, signingSecret)).status).toBe(401);
  expect((await slackClick(actions(integration), { actionId: 'ack', value: id, username: 'mallory' }, 'not-the-signing-secret')).status).toBe(401);
  expect((await detail(id)).status).toBe('firing');
  expect(await slackClick(actions(integration), { actionId: 'ack', value: id, username: 'carol' }, signingSecret)).toEqual({ status: 200, body: { text: 'Acknowledged by slack:carol: cert expiring' } });
  expect(await detail(id)).toMatchObject({ status: 'acknowledged', acknowledgedBy: 'slack:carol' });
}, 60_000);
