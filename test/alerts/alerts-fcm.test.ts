import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { client, tokenFor } from '../fixtures/http.ts';
import { alertThrough, attemptsOf, useNotificationStack } from '../fixtures/notifications.ts';
import { createUser } from '../fixtures/users.ts';
import { startFcmPeer } from '../peers/fcm.ts';

// FCM push against a peer answering Google's token endpoint (JWT bearer grant, signature checked with
// the service account's public key) and FCM's HTTP v1 send.
const s = useNotificationStack('fcm');
let fcm: Awaited<ReturnType<typeof startFcmPeer>>;
const keys = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
const account = { clientEmail: 'opssight-pager@ops-project.iam.gserviceaccount.com', projectId: 'ops-project' };
const [phoneA, phoneB, gone] = ['dA1:APA91b-first_device', 'dB2:APA91b-second_device', 'dX9:APA91b-uninstalled'];

beforeAll(async () => {
  fcm = await startFcmPeer({ ...account, publicKeyPem: keys.publicKey, devices: [phoneA, phoneB] });
});
afterAll(async () => {
  await fcm?.close();
});

async function integration(deviceTokens: string[], privateKey = keys.privateKey) {
  const res = await s.admin.post('/api/v1/integrations', {
    team: s.team.slug, type: 'fcm', name: `fcm-${crypto.randomUUID().slice(0, 8)}`,
    settings: { ...account, deviceTokens, tokenUri: `${fcm.url}/token`, apiUrl: fcm.url },
    secrets: { serviceAccountKey: privateKey },
  });
  if (res.status !== 201) throw new Error(`the fcm integration was refused: ${JSON.stringify(res.body)}`);
  return res.body.id as string;
}
const pushAlert = (step: Record<string, unknown>) => {
  const summary = `push ${crypto.randomUUID()}`;
  return alertThrough(s, [step], { summary, severity: 'critical' }).then((id) => ({ id, summary }));
};

it("pushes to each device of a channel with one access token; a device FCM no longer knows fails once, not retried", async () => {
  const channel = await integration([phoneA, gone]);
  const exchanges = fcm.counts.tokenExchanges;
  const { id, summary } = await pushAlert({ type: 'notify_channel', integration: channel });
  const attempts = await attemptsOf(s, id, 2);
  const byTarget = Object.fromEntries(attempts.map((a) => [a.target, a]));
  expect(byTarget[phoneA]).toMatchObject({ channel: 'fcm', status: 'sent', providerId: expect.stringMatching(/^projects\/ops-project\/messages\//) });
  expect(byTarget[gone]).toMatchObject({ channel: 'fcm', status: 'failed', attempt: 1, error: expect.stringContaining('HTTP 404 UNREGISTERED') });
  expect(fcm.messages.filter((m) => m.body === summary)).toEqual([expect.objectContaining({ token: phoneA, title: '[CRITICAL] alert', data: { alertId: id } })]);
  // Both sends shared one access token (the worker keeps it until shortly before it expires).
  expect(fcm.counts.tokenExchanges - exchanges).toBeLessThanOrEqual(1);
  await s.admin.post(`/api/v1/alerts/${id}/resolve`);
  expect((await attemptsOf(s, id, 2)).filter((a) => a.target === gone)).toHaveLength(1);
});

it("a notify-people step pushes to each person's own devices", async () => {
  const erin = await createUser(s.api.deps.db.em, { teams: [s.team], role: 'operator' });
  expect((await client(s.api, await tokenFor(s.api, erin.id)).put('/api/v1/me/contact', { phone: null, pushTokens: [phoneB] })).status).toBe(200);
  const via = await integration([]);
  const { id, summary } = await pushAlert({ type: 'notify_users', users: [erin.id], via });
  expect((await attemptsOf(s, id, 1)).map((a) => [a.channel, a.target, a.status])).toEqual([['fcm', phoneB, 'sent']]);
  expect(fcm.messages.filter((m) => m.body === summary).map((m) => m.token)).toEqual([phoneB]);
  await s.admin.post(`/api/v1/alerts/${id}/resolve`);
});

it('a service account key the token endpoint refuses is a failed attempt naming its answer', async () => {
  const other = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  const channel = await integration([phoneA], other.privateKey);
  const { id } = await pushAlert({ type: 'notify_channel', integration: channel });
  const [attempt] = await attemptsOf(s, id, 1);
  expect(attempt).toMatchObject({ channel: 'fcm', status: 'failed', error: expect.stringContaining('the token endpoint refused the service account (HTTP 400): invalid_grant') });
  await s.admin.post(`/api/v1/alerts/${id}/resolve`);
});
