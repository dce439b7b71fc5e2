import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { client, tokenFor } from '../fixtures/http.ts';
import { until } from '../fixtures/until.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { startApi, type TestApi } from '../peers/stack.ts';
import { ownNamespace } from '../peers/temporal.ts';
import { startTwilioPeer } from '../peers/twilio.ts';
import { startTestWorker, type TestWorker } from '../peers/worker.ts';

// The SMS channel through the real `twilio` library against a local Messages API peer, and replies
// "ACK <code>" coming back signed to the messaging webhook.
let api: TestApi;
let worker: TestWorker;
let twilio: Awaited<ReturnType<typeof startTwilioPeer>>;
let admin: ReturnType<typeof client>;
let send: (body: unknown) => ReturnType<ReturnType<typeof client>['post']>;
let twilioId: string;
let team: { id: string; slug: string };
const hex = () => crypto.randomUUID().replaceAll('-', '');
const account = { accountSid: `AC${hex()}`, authToken: hex(), numbers: ['+15550100000'] };
const [alice, bob] = ['+15550001111', '+15550002222'];

beforeAll(async () => {
  const namespace = await ownNamespace('twilio');
  twilio = await startTwilioPeer(account);
  api = await startApi({ TEMPORAL_NAMESPACE: namespace, REDIS_PREFIX: `${process.env.REDIS_PREFIX}twilio:` });
  worker = await startTestWorker({ TEMPORAL_NAMESPACE: namespace }, { taskQueues: ['notifications'] });
  team = await createTeam(api.deps.db.em);
  admin = client(api, await tokenFor(api, (await createUser(api.deps.db.em, { teams: [team], role: 'admin' })).id));
  const res = await admin.post('/api/v1/integrations', { team: team.slug, type: 'twilio', name: 'ops-sms', settings: { accountSid: account.accountSid, from: account.numbers[0], to: [alice, bob], apiUrl: twilio.apiUrl }, secrets: { authToken: account.authToken } });
  expect(res.status).toBe(201);
  twilioId = res.body.id;
  const policy = await admin.post('/api/v1/escalation-policies', { team: team.slug, name: 'sms', steps: [{ type: 'notify_channel', integration: twilioId }, { type: 'wait', seconds: 600 }] });
  expect(policy.status).toBe(201);
  const token = `src-${crypto.randomUUID()}-${crypto.randomUUID()}`;
  const source = await admin.post('/api/v1/integrations', { team: team.slug, type: 'alert-source', name: 'src', settings: { policy: policy.body.id }, secrets: { token } });
  send = (body) => client(api, token).post(`/api/v1/alerts?source=${source.body.id}`, body);
}, 120_000);
afterAll(async () => {
  await worker?.shutdown();
  await api?.close();
  await twilio?.close();
});

const detail = async (id: string) => (await admin.get(`/api/v1/alerts/${id}`)).body;
const smsUrl = () => `${api.baseUrl}/api/v1/alerts/twilio/sms?source=${twilioId}`;
type Attempt = { channel: string; target: string; status: string; providerId: string | null; error: string | null };

it('texts each number (a 500 and a 429 retried, on record); a signed "ACK <code>" acknowledges once; a forged one is refused', async () => {
  twilio.control.failNext = 1;
  twilio.control.rateLimitNext = 1;
  const summary = `disk full ${crypto.randomUUID()}`;
  const id = (await send({ dedupKey: `sms-${crypto.randomUUID()}`, summary })).body.alerts[0].id as string;
  const texts = await until('both texts', async () => {
    const mine = twilio.messages.filter((m) => m.body.includes(summary));
    return mine.length === 2 ? mine : undefined;
  }, 30_000);
  expect(texts.map((m) => m.to).sort()).toEqual([alice, bob]);
  expect(texts.every((m) => m.from === account.numbers[0])).toBe(true);
  const d = await until('both sent attempts', async () => {
    const body = await detail(id);
    return body.notifications.filter((n: Attempt) => n.status === 'sent').length === 2 ? body : undefined;
  });
  const attempts = d.notifications as Attempt[];
  expect(attempts.every((n) => n.channel === 'twilio')).toBe(true);
  expect(attempts.filter((n) => n.status === 'failed').map((n) => n.error).sort()).toEqual([expect.stringContaining('Internal Server Error'), expect.stringContaining('Too Many Requests')].sort());
  expect(attempts.filter((n) => n.status === 'sent').map((n) => n.providerId).sort()).toEqual(texts.map((m) => m.sid).sort());

  const codeOf = (to: string) => /Reply ACK (\d{6}) /.exec(texts.find((m) => m.to === to)!.body)![1]!;
  const [aliceCode, bobCode] = [codeOf(alice), codeOf(bob)];
  const forged = await twilio.reply(smsUrl(), { from: alice, to: account.numbers[0]!, body: `ACK ${aliceCode}` }, hex());
  expect(forged.status).toBe(401);
  // Bob's code is Bob's: from Alice's phone it does nothing.
  if (bobCode !== aliceCode) {
    const wrongPhone = await twilio.reply(smsUrl(), { from: alice, to: account.numbers[0]!, body: `ACK ${bobCode}` });
    expect(wrongPhone).toEqual({ status: 200, text: expect.stringContaining(`Code ${bobCode} is unknown, used or expired.`) });
  }
  expect((await detail(id)).status).toBe('firing');

  const ack = await twilio.reply(smsUrl(), { from: alice, to: account.numbers[0]!, body: ` ack ${aliceCode} ` });
  expect(ack.status).toBe(200);
  expect(ack.text).toContain(`<Message>Acknowledged: ${summary}</Message>`);
  expect(await detail(id)).toMatchObject({ status: 'acknowledged', acknowledgedBy: `${alice} (sms)` });
  const again = await twilio.reply(smsUrl(), { from: alice, to: account.numbers[0]!, body: `ACK ${aliceCode}` });
  expect(again.text).toContain('is unknown, used or expired');
  expect((await twilio.reply(smsUrl(), { from: bob, to: account.numbers[0]!, body: 'hello?' })).text).toContain('Reply ACK followed by the code');
  await admin.post(`/api/v1/alerts/${id}/resolve`);
});

it('a wrong auth token is a failed attempt naming Twilio’s error; a reply to another integration id is refused', async () => {
  expect((await twilio.reply(`${api.baseUrl}/api/v1/alerts/twilio/sms?source=${crypto.randomUUID()}`, { from: alice, to: account.numbers[0]!, body: 'ACK 123456' })).status).toBe(401);
  const stale = await admin.patch(`/api/v1/integrations/${twilioId}`, { secrets: { authToken: hex() } });
  expect(stale.status).toBe(200);
  const id = (await send({ dedupKey: `sms-bad-${crypto.randomUUID()}`, summary: 'revoked token' })).body.alerts[0].id as string;
  const d = await until('a failed attempt', async () => {
    const body = await detail(id);
    return body.notifications.length ? body : undefined;
  });
  expect(d.notifications[0]).toMatchObject({ channel: 'twilio', status: 'failed', error: expect.stringContaining('Authenticate') });
  await admin.post(`/api/v1/alerts/${id}/resolve`);
  await admin.patch(`/api/v1/integrations/${twilioId}`, { secrets: { authToken: account.authToken } });
});

it("a step that notifies people by SMS texts each person's own phone, set by them; without a phone nobody is texted", async () => {
  const [carol, dave] = [await createUser(api.deps.db.em, { teams: [team], role: 'operator' }), await createUser(api.deps.db.em, { teams: [team], role: 'operator' })];
  const carolApi = client(api, await tokenFor(api, carol.id));
  const carolPhone = '+15550003333';
  // Bad input is a 400 naming the field, and nothing is stored.
  const bad = await carolApi.put('/api/v1/me/contact', { phone: '555-3333', pushTokens: ['tok-aaaaaaaa', 'tok-aaaaaaaa'] });
  expect(bad.status).toBe(400);
  expect(bad.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['phone', 'pushTokens']);
  expect((await carolApi.get('/api/v1/me/contact')).body).toEqual({ phone: null, pushTokens: [] });
  expect((await carolApi.put('/api/v1/me/contact', { phone: carolPhone, pushTokens: [] })).body).toEqual({ phone: carolPhone, pushTokens: [] });
  expect((await carolApi.get('/api/v1/me/contact')).body).toEqual({ phone: carolPhone, pushTokens: [] });
  // An API token cannot send someone's pages elsewhere.
  const automation = (await carolApi.post('/api/v1/me/tokens', { name: 'ci', team: team.slug, permissions: ['runs:read'] })).body.token as string;
  expect((await client(api, automation).put('/api/v1/me/contact', { phone: '+15550009999', pushTokens: [] })).status).toBe(403);

  const policy = await admin.post('/api/v1/escalation-policies', { team: team.slug, name: `people-sms-${crypto.randomUUID().slice(0, 6)}`, steps: [{ type: 'notify_users', users: [carol.id, dave.id], via: twilioId }, { type: 'wait', seconds: 600 }] });
  expect(policy.status).toBe(201);
  const token = `src-${crypto.randomUUID()}-${crypto.randomUUID()}`;
  const source = await admin.post('/api/v1/integrations', { team: team.slug, type: 'alert-source', name: `people-${crypto.randomUUID().slice(0, 6)}`, settings: { policy: policy.body.id }, secrets: { token } });
  const summary = `queue backlog ${crypto.randomUUID()}`;
  const id = (await client(api, token).post(`/api/v1/alerts?source=${source.body.id}`, { dedupKey: `people-${crypto.randomUUID()}`, summary })).body.alerts[0].id as string;
  const attempts = await until('the text to Carol', async () => {
    const body = await detail(id);
    return body.notifications.some((n: Attempt) => n.status === 'sent') ? (body.notifications as Attempt[]) : undefined;
  }, 30_000);
  // Dave set no phone: the step reaches Carol alone.
  expect(attempts.map((n) => [n.channel, n.target, n.status])).toEqual([['twilio', carolPhone, 'sent']]);
  expect(twilio.messages.filter((m) => m.body.includes(summary)).map((m) => m.to)).toEqual([carolPhone]);
  expect((await detail(id)).timeline.map((e: { message: string }) => e.message)).toContain(`notifying ${carolPhone}`);
  await admin.post(`/api/v1/alerts/${id}/resolve`);
});
