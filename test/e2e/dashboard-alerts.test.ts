import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { escalationStateQuery, escalationWorkflowId } from '../../contracts/alerts/escalation.ts';
import { client, tokenFor } from '../fixtures/http.ts';
import { until } from '../fixtures/until.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { startApi, type TestApi } from '../peers/stack.ts';
import { ownNamespace } from '../peers/temporal.ts';
import { startWebhookReceiver } from '../peers/webhook-receiver.ts';
import { startTestWorker, type TestWorker } from '../peers/worker.ts';
import { inOwnBrowser, screenshot, signIn } from './browser.ts';

// The alerts dashboard in headless Chromium against the real API, a notifications worker, Temporal,
// PostgreSQL, Redis and a signed-webhook receiver: an alert appears live and is acknowledged from
// the page (and escalation stops), a policy edit saves a new version, the on-call calendar shows an
// override, and a schedule is made and changed from the page. Needs the built dashboard (npm run build:web).
let api: TestApi;
let worker: TestWorker;
let hook: Awaited<ReturnType<typeof startWebhookReceiver>>;
const HOOK_SECRET = `hook-${crypto.randomUUID()}`;
let team: { id: string; slug: string };
let admin: { id: string; email: string; password: string; name?: string };
let operator: { id: string; email: string; password: string };
let adminApi: ReturnType<typeof client>;
let hookId: string;

beforeAll(async () => {
  if (!fs.existsSync(path.resolve('web/dist'))) throw new Error('web/dist is missing: run `npm run build:web` first');
  const namespace = await ownNamespace('dash-alerts');
  // The worker announces alert changes on the channel the API relays: one Redis prefix for both.
  const shared = { TEMPORAL_NAMESPACE: namespace, REDIS_PREFIX: `${process.env.REDIS_PREFIX}dash-alerts:` };
  hook = await startWebhookReceiver(HOOK_SECRET);
  api = await startApi(shared);
  worker = await startTestWorker({ ...shared, PUBLIC_URL: api.baseUrl }, { taskQueues: ['notifications'] });
  team = await createTeam(api.deps.db.em);
  admin = await createUser(api.deps.db.em, { teams: [team], role: 'admin' });
  operator = await createUser(api.deps.db.em, { teams: [team], role: 'operator' });
  adminApi = client(api, await tokenFor(api, admin.id));
  hookId = (await adminApi.post('/api/v1/integrations', { team: team.slug, type: 'webhook', name: 'ops-hook', settings: { url: hook.url }, secrets: { signingSecret: HOOK_SECRET } })).body.id;
}, 120_000);
afterAll(async () => {
  await worker?.shutdown();
  await api?.close();
  await hook?.close();
});

async function sourceFor(policyName: string, steps: unknown[]) {
  const policy = await adminApi.post('/api/v1/escalation-policies', { team: team.slug, name: policyName, steps });
  expect(policy.status).toBe(201);
  const token = `tok-${crypto.randomUUID()}-${crypto.randomUUID()}`;
  const src = await adminApi.post('/api/v1/integrations', { team: team.slug, type: 'alert-source', name: `src-${policyName}`, settings: { policy: policy.body.id }, secrets: { token } });
  return { policy: policy.body as { id: string }, send: (body: unknown) => client(api, token).post(`/api/v1/alerts?source=${src.body.id}`, body) };
}

describe('Alerts dashboard', () => {
  it('an alert appears live, is acknowledged from the page, and escalation stops: no further attempt', async () => {
    const { send } = await sourceFor('live', [{ type: 'notify_channel', integration: hookId }, { type: 'wait', seconds: 60 }, { type: 'notify_channel', integration: hookId }]);
    await inOwnBrowser(async (page) => {
      await signIn(page, api.baseUrl, operator);
      await page.getByRole('link', { name: 'Alerts' }).click();
      await page.getByText('No open alerts.').waitFor();

      const dedupKey = `disk-${crypto.randomUUID().slice(0, 8)}`;
      const id = (await send({ dedupKey, summary: 'disk almost full', severity: 'critical' })).body.alerts[0].id as string;
      const row = page.locator(`[data-alert="${dedupKey}"]`);
      await row.waitFor();
      await send({ dedupKey, summary: 'disk almost full' });
      await row.getByTestId('alert-count').filter({ hasText: '2×' }).waitFor();
      // The first step has paged (the attempt is on record); the chain now waits 60 s.
      await until('the first page', async () => (hook.deliveries.some((d) => (d.body.alert as { id: string }).id === id) ? true : undefined), 30_000);

      await row.getByRole('button', { name: 'Acknowledge disk almost full' }).click();
      // Acknowledged: it leaves the Open tab and is in the Acknowledged one.
      await row.waitFor({ state: 'detached' });
      await page.getByRole('tab', { name: 'Acknowledged' }).click();
      await page.locator(`[data-alert="${dedupKey}"]`).getByText(operator.email).waitFor();
      await page.locator(`[data-alert="${dedupKey}"]`).getByRole('link', { name: 'disk almost full' }).click();
      await page.getByRole('heading', { name: 'disk almost full' }).waitFor();
      // The escalation's own note that it stopped arrives live on the timeline.
      await page.locator('[data-testid="alert-timeline"] li[data-type="acknowledged"]').waitFor({ timeout: 30_000 });
      await screenshot(page, 'alert-detail');

      // The chain has left its wait (the workflow says so), and only the first step's page was sent.
      const handle = api.deps.temporal.workflow.getHandle(escalationWorkflowId(id));
      await until('the escalation to stop', async () => ((await handle.query(escalationStateQuery)).phase === 'acknowledged' ? true : undefined), 30_000);
      const detail = (await client(api, await tokenFor(api, operator.id)).get(`/api/v1/alerts/${id}`)).body as { notifications: { status: string }[] };
      expect(detail.notifications.map((n) => n.status)).toEqual(['sent']);
      expect(hook.deliveries.filter((d) => (d.body.alert as { id: string }).id === id)).toHaveLength(1);
      await expect(page.locator('[data-testid="alert-attempts"] tbody tr[data-status]').count()).resolves.toBe(1);
      // Operators acknowledge; the Acknowledge button is gone now, Resolve stays.
      await expect(page.getByRole('button', { name: 'Acknowledge disk almost full' }).count()).resolves.toBe(0);
    });
  }, 120_000);

  it('the policy editor saves a new version; an alert opened before keeps the version it started with', async () => {
    const { send, policy } = await sourceFor('pager', [{ type: 'notify_channel', integration: hookId }, { type: 'wait', seconds: 600 }]);
    const before = (await send({ dedupKey: `v1-${crypto.randomUUID()}`, summary: 'on version 1' })).body.alerts[0].id as string;
    await inOwnBrowser(async (page) => {
      await signIn(page, api.baseUrl, admin);
      await page.goto(`${api.baseUrl}/alerts/policies`);
      const row = page.locator('[data-policy="pager"]');
      await expect(row.getByTestId('policy-version').textContent()).resolves.toBe('1');
      await row.getByRole('button', { name: 'Edit pager' }).click();
      const editor = page.getByTestId('policy-editor').filter({ hasText: 'Edit pager' });
      await editor.getByText('Saving creates version 2.').waitFor();
      await editor.getByLabel('Step 2 wait (seconds)').fill('120');
      await editor.getByRole('button', { name: 'Add: Notify a channel' }).click();
      await editor.getByLabel('Step 3 channel').selectOption({ label: 'ops-hook (webhook)' });
      await editor.getByRole('button', { name: 'Save new version' }).click();
      await page.getByRole('status').filter({ hasText: 'Saved pager, version 2.' }).waitFor();
      // The list is fetched again after the save: its row may still show the old version for a moment.
      await row.getByTestId('policy-version').filter({ hasText: /^2$/ }).waitFor({ timeout: 10_000 });
      await expect(row.getByTestId('policy-version').textContent()).resolves.toBe('2');
      await screenshot(page, 'escalation-policy');
    });
    const stored = (await adminApi.get(`/api/v1/escalation-policies/${policy.id}`)).body;
    expect(stored).toMatchObject({ version: 2, steps: [{ type: 'notify_channel', integration: hookId }, { type: 'wait', seconds: 120 }, { type: 'notify_channel', integration: hookId }] });
    expect((await adminApi.get(`/api/v1/alerts/${before}`)).body.policy).toEqual({ id: policy.id, version: 1 });
  }, 90_000);

  it('the on-call calendar shows who is on call each day, with an override marked', async () => {
    const day = (n: number) => new Date(Date.now() + n * 86_400_000);
    const ymd = (d: Date) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
    const overrideDay = day(2);
    // Noon to 14:00 of that local day: inside it whatever the machine's zone.
    const from = new Date(overrideDay.getFullYear(), overrideDay.getMonth(), overrideDay.getDate(), 12).toISOString();
    const to = new Date(overrideDay.getFullYear(), overrideDay.getMonth(), overrideDay.getDate(), 14).toISOString();
    const created = await adminApi.post('/api/v1/oncall', {
      team: team.slug,
      name: 'primary',
      layers: [{ name: 'week', users: [admin.id], rotation: 'weekly', handoffTime: '00:00', timeZone: 'UTC', start: ymd(day(-3)) }],
      overrides: [{ user: operator.id, from, to }],
    });
    expect(created.status).toBe(201);
    await inOwnBrowser(async (page) => {
      await signIn(page, api.baseUrl, operator);
      await page.goto(`${api.baseUrl}/oncall`);
      const calendar = page.getByTestId('oncall-calendar');
      const row = calendar.locator(`tr[data-day="${ymd(overrideDay)}"]`);
      await row.locator(`li.override[data-user="${operator.id}"]`).getByText('override').waitFor();
      // Around the override, the layer's person; on other days only them.
      await expect(row.locator(`li[data-user="${admin.id}"]`).count()).resolves.toBe(2);
      await expect(calendar.locator(`tr[data-day="${ymd(day(1))}"] li`).count()).resolves.toBe(1);
      await expect(calendar.locator(`tr[data-day="${ymd(day(1))}"] li[data-user="${admin.id}"]`).count()).resolves.toBe(1);
      await screenshot(page, 'oncall-calendar');
    });
  }, 90_000);

  it('a schedule made and changed on the page (layer, override, a refusal beside its field): the calendar and /now follow', async () => {
    const ymd = (d: Date) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
    const localInput = (t: number) => `${ymd(new Date(t))}T${String(new Date(t).getHours()).padStart(2, '0')}:${String(new Date(t).getMinutes()).padStart(2, '0')}`;
    const now = Date.now();
    const whoAt = async (id: string, at?: number) => (await adminApi.get(`/api/v1/oncall/${id}/now${at ? `?at=${encodeURIComponent(new Date(at).toISOString())}` : ''}`)).body as { user: { id: string } | null; layer: string | null };
    let id = '';
    await inOwnBrowser(async (page) => {
      await signIn(page, api.baseUrl, admin);
      await page.goto(`${api.baseUrl}/oncall`);
      const form = page.getByTestId('new-schedule');
      await form.getByLabel('Schedule name').fill('web rota');
      await form.getByLabel('Time zone').fill('Mars/Olympus');
      await form.getByLabel('Layer name').fill('week');
      await form.getByLabel('Add a member').selectOption(admin.id);
      await form.getByLabel('Add a member').selectOption(operator.id);
      await form.getByLabel('Rotation').selectOption('weekly');
      await form.getByLabel('Handoff time').fill('00:00');
      await form.getByLabel('First turn starts on').fill(ymd(new Date(now - 3 * 86_400_000)));
      await form.getByRole('button', { name: 'Create schedule' }).click();
      // The API's word on the zone, beside the zone field; nothing was created.
      await form.locator('#new-schedule-timeZone-err').getByText('an IANA time zone, e.g. Europe/Berlin').waitFor();
      expect((await adminApi.get(`/api/v1/oncall?team=${team.slug}`)).body.schedules.map((x: { name: string }) => x.name)).not.toContain('web rota');
      await form.getByLabel('Time zone').fill('UTC');
      await form.getByRole('button', { name: 'Create schedule' }).click();
      await page.getByRole('status').filter({ hasText: 'Created web rota.' }).waitFor();
      id = ((await adminApi.get(`/api/v1/oncall?team=${team.slug}`)).body.schedules as { id: string; name: string }[]).find((x) => x.name === 'web rota')!.id;
      const today = page.getByTestId('oncall-calendar').locator(`tr[data-day="${ymd(new Date(now))}"]`);
      await today.locator(`li[data-user="${admin.id}"]`).getByText('week').waitFor();
      expect(await whoAt(id)).toMatchObject({ user: { id: admin.id }, layer: 'week' });

      // An override whose end is before its start is refused beside "Until"; then the right one.
      const overrides = page.getByTestId('override-form');
      await overrides.getByLabel('Who').selectOption(operator.id);
      await overrides.getByLabel('From (your time)').fill(localInput(now - 3_600_000));
      await overrides.getByLabel('Until (your time)').fill(localInput(now - 7_200_000));
      await overrides.getByRole('button', { name: 'Add override' }).click();
      await overrides.locator('#override-to-err').getByText('must end after it starts').waitFor();
      await overrides.getByLabel('Until (your time)').fill(localInput(now + 2 * 3_600_000));
      await overrides.getByRole('button', { name: 'Add override' }).click();
      await page.getByRole('status').filter({ hasText: 'Added an override' }).waitFor();
      await today.locator(`li.override[data-user="${operator.id}"]`).waitFor();
      expect(await whoAt(id)).toMatchObject({ user: { id: operator.id }, layer: null });
      await page.getByTestId('schedule-editor').scrollIntoViewIfNeeded();
      await screenshot(page, 'oncall-editor');

      // The layer's order changed: the operator's turn comes first, under the override and after it.
      const editor = page.getByTestId('schedule-editor');
      await editor.getByRole('button', { name: 'Edit layer week' }).click();
      const layer = page.getByTestId('layer-form');
      await layer.locator(`li[data-user="${operator.id}"]`).getByRole('button', { name: /earlier$/ }).click();
      await layer.getByRole('button', { name: 'Save layer' }).click();
      await page.getByRole('status').filter({ hasText: 'Saved layer week.' }).waitFor();
      expect(await whoAt(id, now + 3 * 3_600_000)).toMatchObject({ user: { id: operator.id }, layer: 'week' });

      // Removing the override hands the hour back to the layer, in the calendar and for /now.
      await editor.getByRole('button', { name: /^Remove the override for / }).click();
      await page.getByRole('status').filter({ hasText: 'Removed the override' }).waitFor();
      await today.locator('li.override').waitFor({ state: 'detached' });
      expect(await whoAt(id)).toMatchObject({ user: { id: operator.id }, layer: 'week' });

      // The layer only on the other six days: today (UTC, the layer's zone) nobody is on call.
      const todayIso = ((new Date(now).getUTCDay() + 6) % 7) + 1;
      const others = [1, 2, 3, 4, 5, 6, 7].filter((d) => d !== todayIso);
      const dayNames = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
      await editor.getByRole('button', { name: 'Edit layer week' }).click();
      for (const d of others) await layer.getByLabel(dayNames[d - 1]!, { exact: true }).check();
      await layer.getByRole('button', { name: 'Save layer' }).click();
      await page.getByRole('status').filter({ hasText: 'Saved layer week.' }).waitFor();
      await editor.locator('li[data-layer="week"]').getByText(`only ${others.map((d) => dayNames[d - 1]).join(' ')}`).waitFor();
      expect(await whoAt(id, now)).toMatchObject({ user: null, layer: null });

      // Saved by someone else meanwhile: the page's next change is refused and says so; theirs stays.
      const current = (await adminApi.get(`/api/v1/oncall/${id}`)).body;
      expect((await adminApi.put(`/api/v1/oncall/${id}`, { name: current.name, version: current.version, layers: current.layers, overrides: [{ user: admin.id, from: new Date(now).toISOString(), to: new Date(now + 3_600_000).toISOString() }] })).status).toBe(200);
      await editor.getByRole('button', { name: 'Edit layer week' }).click();
      await layer.getByLabel(dayNames[others[0]! - 1]!, { exact: true }).uncheck();
      await layer.getByRole('button', { name: 'Save layer' }).click();
      await editor.getByRole('alert').getByText(`has changed since version ${current.version}`).waitFor();
    });
    const saved = (await adminApi.get(`/api/v1/oncall/${id}`)).body;
    expect(saved).toMatchObject({ name: 'web rota', layers: [{ name: 'week', users: [operator.id, admin.id], rotation: 'weekly', handoffTime: '00:00', timeZone: 'UTC', weekdays: [1, 2, 3, 4, 5, 6, 7].filter((d) => d !== ((new Date(now).getUTCDay() + 6) % 7) + 1) }] });
    expect(saved.overrides.map((o: { user: string }) => o.user)).toEqual([admin.id]);
  }, 120_000);
});
