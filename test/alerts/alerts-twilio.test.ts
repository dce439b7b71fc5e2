import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { client, tokenFor } from '../fixtures/http.ts';
import { alertThrough, attemptsOf, useNotificationStack, type Attempt } from '../fixtures/notifications.ts';
import { until } from '../fixtures/until.ts';
import { createUser } from '../fixtures/users.ts';
import { startTwilioPeer } from '../peers/twilio.ts';

// The SMS channel through the real `twilio` library against a local Messages API peer, and replies
// "ACK <code>" coming back signed to the messaging webhook.
const s = useNotificationStack('twilio');
let twilio: Awaited<ReturnType<typeof startTwilioPeer>>;
let send: (body: unknown) => ReturnType<ReturnType<typeof client>['post']>;
let twilioId: string;
const hex = () => crypto.randomUUID().replaceAll('-', '');
const account = { accountSid: `AC${hex()}`, authToken: hex(), numbers: ['+15550100000'] };
const [alice, bob] = ['+15550001111', '+15550002222'];

beforeAll(async () => {
  twilio = await startTwilioPeer(account);
  const res = await s.admin.post('/api/v1/integrations', { team: s.team.slug, type: 'twilio', name: 'ops-sms', settings: { accountSid: account.accountSid, from: account.numbers[0], to: [alice, bob], apiUrl: twilio.apiUrl }, secrets: { authToken: account.authToken } });
  expect(res.status).toBe(201);
  twilioId = res.body.id;
  const policy = await s.admin.post('/api/v1/escalation-policies', { team: s.team.slug, name: 'sms', steps: [{ type: 'notify_channel', integration: twilioId }, { type: 'wait', seconds: 600 }] });
  expect(policy.status).toBe(201);
  const token = `src-${crypto.randomUUID()}-${crypto.randomUUID()}`;
  const source = await s.admin.post('/api/v1/integrations', { team: s.team.slug, type: 'alert-source', name: 'src', settings: { policy: policy.body.id }, secrets: { token } });
  send = (body) => client(s.api, token).post(`/api/v1/alerts?source=${source.body.id}`, body);
});
afterAll(async () => {
  await twilio?.close();
});

const detail = async (id: string) => (await s.admin.get(`/api/v1/alerts/${id}`)).body;
const smsUrl = () => `${s.api.baseUrl}/api/v1/alerts/twilio/sms?source=${twilioId}`;

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
  await s.admin.post(`/api/v1/alerts/${id}/resolve`);
});

it('a wrong auth token is a failed attempt naming Twilio’s error; a reply to another integration id is refused', async () => {
  expect((await twilio.reply(`${s.api.baseUrl}/api/v1/alerts/twilio/sms?source=${crypto.randomUUID()}`, { from: alice, to: account.numbers[0]!, body: 'ACK 123456' })).status).toBe(401);
  const stale = await s.admin.patch(`/api/v1/integrations/${twilioId}`, { secrets: { authToken: hex() } });
  expect(stale.status).toBe(200);
  const id = (await send({ dedupKey: `sms-bad-${crypto.randomUUID()}`, summary: 'revoked token' })).body.alerts[0].id as string;
  const d = await until('a failed attempt', async () => {
    const body = await detail(id);
    return body.notifications.length ? body : undefined;
  });
  expect(d.notifications[0]).toMatchObject({ channel: 'twilio', status: 'failed', error: expect.stringContaining('Authenticate') });
  await s.admin.post(`/api/v1/alerts/${id}/resolve`);
  await s.admin.patch(`/api/v1/integrations/${twilioId}`, { secrets: { authToken: account.authToken } });
});

it("a step that notifies people by SMS texts each person's own phone, set by them; without a phone nobody is texted", async () => {
  const [carol, dave] = [await createUser(s.api.deps.db.em, { teams: [s.team], role: 'operator' }), await createUser(s.api.deps.db.em, { teams: [s.team], role: 'operator' })];
  const carolApi = client(s.api, await tokenFor(s.api, carol.id));
  const carolPhone = '+15550003333';
  // Bad input is a 400 naming the field, and nothing is stored.
  const bad = await carolApi.put('/api/v1/me/contact', { phone: '555-3333', pushTokens: ['tok-aaaaaaaa', 'tok-aaaaaaaa'] });
  expect(bad.status).toBe(400);
  expect(bad.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['phone', 'pushTokens']);
  expect((await carolApi.get('/api/v1/me/contact')).body).toEqual({ phone: null, pushTokens: [] });
  expect((await carolApi.put('/api/v1/me/contact', { phone: carolPhone, pushTokens: [] })).body).toEqual({ phone: carolPhone, pushTokens: [] });
  expect((await carolApi.get('/api/v1/me/contact')).body).toEqual({ phone: carolPhone, pushTokens: [] });
  // An API token cannot send someone's pages elsewhere.
  const automation = (await carolApi.post('/api/v1/me/tokens', { name: 'ci', team: s.team.slug, permissions: ['runs:read'] })).body.token as string;
  expect((await client(s.api, automation).put('/api/v1/me/contact', { phone: '+15550009999', pushTokens: [] })).status).toBe(403);

  const summary = `queue backlog ${crypto.randomUUID()}`;
  const id = await alertThrough(s, [{ type: 'notify_users', users: [carol.id, dave.id], via: twilioId }], { summary });
  const attempts = await attemptsOf(s, id, 1);
  // Dave set no phone: the step reaches Carol alone.
  expect(attempts.map((n) => [n.channel, n.target, n.status])).toEqual([['twilio', carolPhone, 'sent']]);
  expect(twilio.messages.filter((m) => m.body.includes(summary)).map((m) => m.to)).toEqual([carolPhone]);
  expect((await detail(id)).timeline.map((e: { message: string }) => e.message)).toContain(`notifying ${carolPhone}`);
  await s.admin.post(`/api/v1/alerts/${id}/resolve`);
});
