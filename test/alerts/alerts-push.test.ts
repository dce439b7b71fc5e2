import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { client, tokenFor } from '../fixtures/http.ts';
import { until } from '../fixtures/until.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { startApnsPeer } from '../peers/apns.ts';
import { startApi, type TestApi } from '../peers/stack.ts';
import { ownNamespace } from '../peers/temporal.ts';
import { startTwilioPeer } from '../peers/twilio.ts';
import { startTestWorker, type TestWorker } from '../peers/worker.ts';

// Push channels through their real client libraries against local peers speaking the vendors' APIs:
// APNs through @parse/node-apn over HTTP/2 + TLS with an ES256 provider token.
let api: TestApi;
let worker: TestWorker;
let apns: Awaited<ReturnType<typeof startApnsPeer>>;
let twilio: Awaited<ReturnType<typeof startTwilioPeer>>;
let admin: ReturnType<typeof client>;
let team: { id: string; slug: string };
const p8 = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1', publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
const key = p8();
const device = () => crypto.randomUUID().replaceAll('-', '').repeat(2);
const hex = () => crypto.randomUUID().replaceAll('-', '');
const account = { accountSid: `AC${hex()}`, authToken: hex(), numbers: ['+15550100000'] };
const app = { teamId: 'TEAM123456', keyId: 'KEY1234567', publicKeyPem: key.publicKey, topic: 'dev.opssight.oncall', devices: [device()] };

beforeAll(async () => {
  const namespace = await ownNamespace('push');
  [apns, twilio] = await Promise.all([startApnsPeer(app), startTwilioPeer(account)]);
  api = await startApi({ TEMPORAL_NAMESPACE: namespace, REDIS_PREFIX: `${process.env.REDIS_PREFIX}push:` });
  worker = await startTestWorker({ TEMPORAL_NAMESPACE: namespace }, { taskQueues: ['notifications'] });
  team = await createTeam(api.deps.db.em);
  admin = client(api, await tokenFor(api, (await createUser(api.deps.db.em, { teams: [team], role: 'admin' })).id));
}, 120_000);
afterAll(async () => {
  // The hung SMS request first: a worker shutting down waits for its running activities.
  await twilio?.close();
  await worker?.shutdown();
  await api?.close();
  await apns?.close();
});

async function apnsChannel(deviceTokens: string[], signingKey = key.privateKey) {
  const settings = { teamId: app.teamId, keyId: app.keyId, topic: app.topic, production: true, deviceTokens, address: apns.address, caPem: apns.caPem };
  const res = await admin.post('/api/v1/integrations', { team: team.slug, type: 'apns', name: `apns-${crypto.randomUUID().slice(0, 8)}`, settings, secrets: { signingKey } });
  expect(res.status).toBe(201);
  return res.body.id as string;
}
async function sourceFor(channels: string[], then: Record<string, unknown>[] = [{ type: 'wait', seconds: 600 }]) {
  const policy = await admin.post('/api/v1/escalation-policies', { team: team.slug, name: `push-${crypto.randomUUID().slice(0, 8)}`, steps: [...channels.map((integration) => ({ type: 'notify_channel', integration })), ...then] });
  expect(policy.status).toBe(201);
  const token = `src-${crypto.randomUUID()}-${crypto.randomUUID()}`;
  const source = await admin.post('/api/v1/integrations', { team: team.slug, type: 'alert-source', name: `src-${crypto.randomUUID().slice(0, 8)}`, settings: { policy: policy.body.id }, secrets: { token } });
  return async (summary: string) => (await client(api, token).post(`/api/v1/alerts?source=${source.body.id}`, { dedupKey: crypto.randomUUID(), summary })).body.alerts[0].id as string;
}
type Attempt = { channel: string; target: string; attempt: number; status: string; providerId: string | null; error: string | null };
const attemptsOf = async (id: string) => (await admin.get(`/api/v1/alerts/${id}`)).body.notifications as Attempt[];

it('APNs: pushes to the device with a valid provider token; a 429 and a 500 are retried and on record', async () => {
  const fire = await sourceFor([await apnsChannel(app.devices)]);
  apns.control.rateLimitNext = 1;
  apns.control.failNext = 1;
  const summary = `payments down ${crypto.randomUUID()}`;
  const id = await fire(summary);
  const push = await until('the push', async () => apns.pushes.find((p) => p.payload.aps?.alert?.body === summary), 30_000);
  expect(push).toMatchObject({ device: app.devices[0], topic: app.topic, pushType: 'alert', payload: { alertId: id } });
  const attempts = await until('the sent attempt', async () => {
    const all = await attemptsOf(id);
    return all.some((n) => n.status === 'sent') ? all : undefined;
  });
  expect(attempts.map((n) => [n.channel, n.attempt, n.status])).toEqual([['apns', 1, 'failed'], ['apns', 2, 'failed'], ['apns', 3, 'sent']]);
  expect(attempts[0]!.error).toContain('TooManyRequests');
  expect(attempts[1]!.error).toContain('HTTP 500');
  expect(attempts[2]!.providerId).toBe(push.id);
  await admin.post(`/api/v1/alerts/${id}/resolve`);
});

it('APNs: a signing key APNs does not know is refused (403) and retried; an unregistered device fails once, for good', async () => {
  const forgedKey = p8().privateKey;
  const fire = await sourceFor([await apnsChannel(app.devices, forgedKey), await apnsChannel([device()])]);
  const id = await fire('bad credentials');
  const attempts = await until('both channels to fail', async () => {
    const all = await attemptsOf(id);
    return all.some((n) => n.error?.includes('Unregistered')) && all.filter((n) => n.error?.includes('InvalidProviderToken')).length >= 2 ? all : undefined;
  }, 20_000);
  expect(attempts.every((n) => n.status === 'failed')).toBe(true);
  expect(attempts.filter((n) => n.error?.includes('Unregistered')).map((n) => n.attempt)).toEqual([1]);
  expect(apns.pushes.some((p) => p.payload.alertId === id)).toBe(false);
  await admin.post(`/api/v1/alerts/${id}/resolve`);
});

it('a Twilio that does not answer delays neither the APNs push of the same step nor the next step', async () => {
  const sms = await admin.post('/api/v1/integrations', { team: team.slug, type: 'twilio', name: 'sms', settings: { accountSid: account.accountSid, from: account.numbers[0], to: ['+15550003333'], apiUrl: twilio.apiUrl }, secrets: { authToken: account.authToken } });
  expect(sms.status).toBe(201);
  const push = await apnsChannel(app.devices);
  const fire = await sourceFor([sms.body.id, push], [{ type: 'wait', seconds: 2 }, { type: 'notify_channel', integration: push }, { type: 'wait', seconds: 600 }]);
  twilio.control.hangNext = 1;
  const id = await fire(`hanging sms ${crypto.randomUUID()}`);
  const pushes = await until('both pushes', async () => {
    const mine = apns.pushes.filter((p) => p.payload.alertId === id);
    return mine.length === 2 ? mine : undefined;
  }, 15_000);
  // The second push goes out when the wait ends, on time, while the SMS attempt still hangs (15 s client timeout).
  const timeline = (await admin.get(`/api/v1/alerts/${id}`)).body.timeline as { type: string; data: { until?: string } | null }[];
  const due = Date.parse(timeline.find((e) => e.type === 'wait')!.data!.until!);
  expect(pushes[1]!.at).toBeGreaterThanOrEqual(due);
  expect(pushes[1]!.at - due).toBeLessThan(1_500);
  expect(twilio.messages.some((m) => m.to === '+15550003333')).toBe(false);
  expect((await attemptsOf(id)).filter((n) => n.channel === 'twilio')).toEqual([]);
  await admin.post(`/api/v1/alerts/${id}/resolve`);
});
