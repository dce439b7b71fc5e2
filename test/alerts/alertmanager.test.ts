import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { AlertSchema } from '../../db/entities/index.ts';
import { client, tokenFor } from '../fixtures/http.ts';
import { until } from '../fixtures/until.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { startAlertmanager } from '../peers/alertmanager.ts';
import { startApi, type TestApi } from '../peers/stack.ts';
import { ownNamespace } from '../peers/temporal.ts';
import { startTestWorker, type TestWorker } from '../peers/worker.ts';

// A real Alertmanager fires and resolves through its own API; its webhook reaches OpsSight's ingest
// route with the source's bearer token, and the escalation starts and ends.
let api: TestApi;
let worker: TestWorker;
let am: Awaited<ReturnType<typeof startAlertmanager>>;
let teamId: string;
const token = `am-${crypto.randomUUID()}-${crypto.randomUUID()}`;
const em = () => api.deps.db.em.fork();

beforeAll(async () => {
  const namespace = await ownNamespace('am');
  api = await startApi({ TEMPORAL_NAMESPACE: namespace, REDIS_PREFIX: `${process.env.REDIS_PREFIX}am:` });
  worker = await startTestWorker({ TEMPORAL_NAMESPACE: namespace }, { taskQueues: ['notifications'] });
  const team = await createTeam(api.deps.db.em);
  teamId = team.id;
  const admin = client(api, await tokenFor(api, (await createUser(api.deps.db.em, { teams: [team], role: 'admin' })).id));
  const policy = await admin.post('/api/v1/escalation-policies', { team: team.slug, name: 'am', steps: [{ type: 'wait', seconds: 600 }] });
  const source = await admin.post('/api/v1/integrations', { team: team.slug, type: 'alert-source', name: 'alertmanager', settings: { policy: policy.body.id }, secrets: { token } });
  expect(source.status).toBe(201);
  am = await startAlertmanager(`${api.baseUrl}/api/v1/alerts/alertmanager?source=${source.body.id}`, token);
}, 120_000);
afterAll(async () => {
  await am?.stop();
  await worker?.shutdown();
  await api?.close();
});

it('an alert fired through Alertmanager opens an escalation; resolving it there resolves it here and ends the workflow', async () => {
  const instance = `db-${crypto.randomUUID().slice(0, 8)}`;
  const labels = { alertname: 'PostgresDown', instance, severity: 'critical' };
  await am.fire(labels, { summary: `${instance} is down` });
  const alert = await until('the alert to open', async () => (await em().findOne(AlertSchema, { team: teamId, labels: { instance } })) ?? undefined, 30_000);
  expect(alert).toMatchObject({ status: 'firing', severity: 'critical', summary: `${instance} is down`, dedupKey: expect.stringMatching(/^alertmanager:[0-9a-f]+$/) });
  const handle = api.deps.temporal.workflow.getHandle(`alert-${alert.id}`);
  // The row commits before the escalation starts (a repeat's signal-with-start covers a lost start).
  const started = await until('the escalation to start', async () => (await handle.describe().catch(() => undefined))?.status.name, 30_000);
  expect(started).toBe('RUNNING');

  await am.resolve(labels);
  await until('the alert to resolve', async () => ((await em().findOne(AlertSchema, { id: alert.id }))?.status === 'resolved' ? true : undefined), 30_000);
  expect(await handle.result()).toMatchObject({ outcome: 'resolved' });
  const row = await em().findOneOrFail(AlertSchema, { id: alert.id });
  expect(row.resolvedBy).toBe('source:alertmanager');
  // One alert for the fingerprint, however many times Alertmanager sent the group.
  expect(await em().count(AlertSchema, { team: teamId })).toBe(1);
});
