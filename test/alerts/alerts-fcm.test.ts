import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { client, tokenFor } from '../fixtures/http.ts';
import { until } from '../fixtures/until.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { startFcmPeer } from '../peers/fcm.ts';
import { startApi, type TestApi } from '../peers/stack.ts';
import { ownNamespace } from '../peers/temporal.ts';
import { startTestWorker, type TestWorker } from '../peers/worker.ts';

// FCM push against a peer answering Google's token endpoint (JWT bearer grant, signature checked with
// the service account's public key) and FCM's HTTP v1 send.
let api: TestApi;
let worker: TestWorker;
let fcm: Awaited<ReturnType<typeof startFcmPeer>>;
let admin: ReturnType<typeof client>;
let team: { id: string; slug: string };
const keys = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
const account = { clientEmail: 'opssight-pager@ops-project.iam.gserviceaccount.com', projectId: 'ops-project' };
const [phoneA, phoneB, gone] = ['dA1:APA91b-first_device', 'dB2:APA91b-second_device', 'dX9:APA91b-uninstalled'];

beforeAll(async () => {
  const namespace = await ownNamespace('fcm');
  fcm = await startFcmPeer({ ...account, publicKeyPem: keys.publicKey, devices: [phoneA, phoneB] });
  api = await startApi({ TEMPORAL_NAMESPACE: namespace, REDIS_PREFIX: `${process.env.REDIS_PREFIX}fcm:` });
  worker = await startTestWorker({ TEMPORAL_NAMESPACE: namespace }, { taskQueues: ['notifications'] });
  team = await createTeam(api.deps.db.em);
  admin = client(api, await tokenFor(api, (await createUser(api.deps.db.em, { teams: [team], role: 'admin' })).id));
}, 120_000);
afterAll(async () => {
  await worker?.shutdown();
  await api?.close();
  await fcm?.close();
});

async function integration(deviceTokens: string[], privateKey = keys.privateKey) {
  const res = await admin.post('/api/v1/integrations', {
    team: team.slug, type: 'fcm', name: `fcm-${crypto.randomUUID().slice(0, 8)}`,
    settings: { ...account, deviceTokens, tokenUri: `${fcm.url}/token`, apiUrl: fcm.url },
    secrets: { serviceAccountKey: privateKey },
  });
  if (res.status !== 201) throw new Error(`the fcm integration was refused: ${JSON.stringify(res.body)}`);
  return res.body.id as string;
}
async function alertThrough(step: Record<string, unknown>) {
  const policy = await admin.post('/api/v1/escalation-policies', { team: team.slug, name: `fcm-${crypto.randomUUID().slice(0, 8)}`, steps: [step, { type: 'wait', seconds: 600 }] });
  expect(policy.status).toBe(201);
  const token = `src-${crypto.randomUUID()}-${crypto.randomUUID()}`;
  const source = await admin.post('/api/v1/integrations', { team: team.slug, type: 'alert-source', name: `src-${crypto.randomUUID().slice(0, 8)}`, settings: { policy: policy.body.id }, secrets: { token } });
  const summary = `push ${crypto.randomUUID()}`;
  const id = (await client(api, token).post(`/api/v1/alerts?source=${source.body.id}`, { dedupKey: `fcm-${crypto.randomUUID()}`, summary, severity: 'critical' })).body.alerts[0].id as string;
  return { id, summary };
}
type Attempt = { channel: string; target: string; status: string; attempt: number; providerId: string | null; error: string | null };
const attemptsOf = (id: string, n: number) =>
  until(`${n} attempts`, async () => {
    const list = (await admin.get(`/api/v1/alerts/${id}`)).body.notifications as Attempt[];
    return list.length >= n ? list : undefined;
  }, 30_000);

it("pushes to each device of a channel with one access token; a device FCM no longer knows fails once, not retried", async () => {
  const channel = await integration([phoneA, gone]);
  const exchanges = fcm.counts.tokenExchanges;
  const { id, summary } = await alertThrough({ type: 'notify_channel', integration: channel });
  const attempts = await attemptsOf(id, 2);
  const byTarget = Object.fromEntries(attempts.map((a) => [a.target, a]));
  expect(byTarget[phoneA]).toMatchObject({ channel: 'fcm', status: 'sent', providerId: expect.stringMatching(/^projects\/ops-project\/messages\//) });
  expect(byTarget[gone]).toMatchObject({ channel: 'fcm', status: 'failed', attempt: 1, error: expect.stringContaining('HTTP 404 UNREGISTERED') });
  expect(fcm.messages.filter((m) => m.body === summary)).toEqual([expect.objectContaining({ token: phoneA, title: '[CRITICAL] alert', data: { alertId: id } })]);
  // Both sends shared one access token (the worker keeps it until shortly before it expires).
  expect(fcm.counts.tokenExchanges - exchanges).toBeLessThanOrEqual(1);
  await admin.post(`/api/v1/alerts/${id}/resolve`);
  expect((await attemptsOf(id, 2)).filter((a) => a.target === gone)).toHaveLength(1);
});

it("a notify-people step pushes to each person's own devices", async () => {
  const erin = await createUser(api.deps.db.em, { teams: [team], role: 'operator' });
  expect((await client(api, await tokenFor(api, erin.id)).put('/api/v1/me/contact', { phone: null, pushTokens: [phoneB] })).status).toBe(200);
  const via = await integration([]);
  const { id, summary } = await alertThrough({ type: 'notify_users', users: [erin.id], via });
  expect((await attemptsOf(id, 1)).map((a) => [a.channel, a.target, a.status])).toEqual([['fcm', phoneB, 'sent']]);
  expect(fcm.messages.filter((m) => m.body === summary).map((m) => m.token)).toEqual([phoneB]);
  await admin.post(`/api/v1/alerts/${id}/resolve`);
});

it('a service account key the token endpoint refuses is a failed attempt naming its answer', async () => {
  const other = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  const channel = await integration([phoneA], other.privateKey);
  const { id } = await alertThrough({ type: 'notify_channel', integration: channel });
  const [attempt] = await attemptsOf(id, 1);
  expect(attempt).toMatchObject({ channel: 'fcm', status: 'failed', error: expect.stringContaining('the token endpoint refused the service account (HTTP 400): invalid_grant') });
  await admin.post(`/api/v1/alerts/${id}/resolve`);
});
