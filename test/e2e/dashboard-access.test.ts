import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Locator, Page } from 'playwright-core';
import { startApi, type TestApi } from '../peers/stack.ts';
import { ownNamespace } from '../peers/temporal.ts';
import { startTestWorker, type TestWorker } from '../peers/worker.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { client } from '../fixtures/http.ts';
import { startHangingServer } from '../fixtures/hanging-http.ts';
import { blockingPlanConfig, simpleConfig } from '../fixtures/terraform.ts';
import { inOwnBrowser, signIn, waitForLogLine } from './browser.ts';

// Who may do what, and how, in headless Chromium against the real stack (API + WebSocket hub, a real
// infra worker, Temporal dev server, PostgreSQL, Redis, real terraform): a platform admin outside every
// team, a keyboard-only user, cancelling a running run. Needs the built dashboard (npm run build:web).
const dist = path.resolve('web/dist/index.html');

let api: TestApi;
let worker: TestWorker;
let team: { id: string; slug: string };
let approver: { id: string; email: string; password: string };

const workspace = () => `kb-${crypto.randomUUID().slice(0, 8)}`;
const tokenOf = async (who: { email: string; password: string }) => (await client(api).post('/api/v1/auth/login', who)).body.accessToken as string;

const isFocused = (target: Locator) => target.evaluate((el) => el === el.ownerDocument.activeElement) as Promise<boolean>;

/** Presses Tab until `target` has focus, and returns whether the focus is visibly drawn on it. */
async function tabTo(page: Page, target: Locator): Promise<boolean> {
  await target.waitFor();
  for (let presses = 0; !(await isFocused(target)); presses++) {
    if (presses > 60) throw new Error(`Tab never reached ${String(target)}`);
    await page.keyboard.press('Tab');
  }
  return target.evaluate((el) => {
    const style = el.ownerDocument.defaultView.getComputedStyle(el);
    return style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
  }) as Promise<boolean>;
}

beforeAll(async () => {
  if (!fs.existsSync(dist)) throw new Error('web/dist is missing: run `npm run build:web` first');
  // Its own namespace: on the shared one, another file's worker (or runs another file left) takes its tasks.
  const namespace = await ownNamespace('access');
  api = await startApi({ TEMPORAL_NAMESPACE: namespace, RATE_LIMIT_LOGIN_PER_MINUTE: '1000' });
  worker = await startTestWorker({ TEMPORAL_NAMESPACE: namespace });
  team = await createTeam(api.deps.db.em);
  approver = await createUser(api.deps.db.em, { teams: [team], role: 'approver' });
});
afterAll(async () => {
  await worker?.shutdown();
  await api?.close();
});

describe('access to the dashboard in a real browser', () => {
  it('offers a platform admin who belongs to no team every team, and lets them start a run in one', async () => {
    const admin = await createUser(api.deps.db.em, { role: 'platform-admin' });
    await inOwnBrowser(async (page) => {
      await signIn(page, api.baseUrl, admin);
      // Both team pickers of the runs list offer the team (the option's label is the team's name, which is its slug here).
      await page.getByTestId('team-switcher').locator('option', { hasText: team.slug }).waitFor({ state: 'attached' });
      await page.getByRole('form', { name: 'Filter runs' }).getByLabel('Team').locator('option', { hasText: team.slug }).waitFor({ state: 'attached' });

      await page.getByRole('link', { name: 'Start a run' }).first().click();
      const form = page.getByTestId('start-form');
      await form.getByLabel('Team').selectOption(team.slug);
      const ws = workspace();
      await form.getByLabel('Workspace').fill(ws);
      await form.getByLabel('Contents of main.tf').fill(simpleConfig()['main.tf']);
      await form.getByRole('button', { name: 'Start run' }).click();
      await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);
      const runId = page.url().split('/').pop()!;
      const token = await tokenOf(admin);
      expect((await client(api, token).get(`/api/v1/runs/${runId}`)).body).toMatchObject({ team: team.slug, target: ws });
      expect((await client(api, token).post(`/api/v1/runs/${runId}/cancel`)).status).toBe(202);
      await page.locator('h1 [data-status=cancelled]').waitFor({ timeout: 60_000 });
    });
  });

  it('signs in, starts a run and approves it with the keyboard alone, focus always visible', async () => {
    await inOwnBrowser(async (page) => {
      await page.goto(`${api.baseUrl}/`);
      const email = page.getByLabel('Email');
      await email.waitFor();
      expect(await isFocused(email)).toBe(true);
      await page.keyboard.type(approver.email);
      expect(await tabTo(page, page.getByLabel('Password'))).toBe(true);
      await page.keyboard.type(approver.password);
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: 'Runs' }).waitFor();

      expect(await tabTo(page, page.getByRole('main').getByRole('link', { name: 'Start a run' }))).toBe(true);
      await page.keyboard.press('Enter');
      const form = page.getByTestId('start-form');
      const ws = workspace();
      expect(await tabTo(page, form.getByLabel('Workspace'))).toBe(true);
      await page.keyboard.type(ws);
      expect(await tabTo(page, form.getByLabel('Contents of main.tf'))).toBe(true);
      await page.keyboard.press('Control+A');
      await page.keyboard.type(simpleConfig('typed')['main.tf']);
      expect(await tabTo(page, form.getByRole('button', { name: 'Start run' }))).toBe(true);
      await page.keyboard.press('Enter');
      await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);

      await waitForLogLine(page, /Plan: 1 to add/);
      const approve = page.getByRole('button', { name: 'Approve' });
      await approve.waitFor({ timeout: 90_000 });
      expect(await tabTo(page, approve)).toBe(true);
      await page.keyboard.press('Enter');
      await page.locator('h1 [data-status=succeeded]').waitFor({ timeout: 90_000 });
      const runId = page.url().split('/').pop()!;
      const run = (await client(api, await tokenOf(approver)).get(`/api/v1/runs/${runId}`)).body;
      expect(run).toMatchObject({ target: ws, status: 'succeeded', params: { files: { 'main.tf': simpleConfig('typed')['main.tf'] } } });
    });
  });

  it('cancels a running run from its page: the status becomes cancelled and the button goes away', async () => {
    const upstream = await startHangingServer();
    try {
      const token = await tokenOf(approver);
      const started = await client(api, token).post('/api/v1/runs', { kind: 'terraform', team: team.slug, params: { workspace: workspace(), files: blockingPlanConfig(upstream.url) } });
      expect(started.status).toBe(201);
      const runId = started.body.id as string;
      // The plan is now stuck reading remote state: the run stays running until it is cancelled.
      await upstream.requested;
      await inOwnBrowser(async (page) => {
        await signIn(page, api.baseUrl, approver);
        await page.goto(`${api.baseUrl}/runs/${runId}`);
        await page.locator('h1 [data-status=running]').waitFor();
        const cancel = page.getByRole('button', { name: 'Cancel run' });
        page.once('dialog', (dialog) => void dialog.accept());
        await cancel.click();
        await page.locator('h1 [data-status=cancelled]').waitFor({ timeout: 60_000 });
        await cancel.waitFor({ state: 'detached' });
        expect(await page.getByRole('button', { name: /Approve|Reject/ }).count()).toBe(0);
      });
      expect((await client(api, token).get(`/api/v1/runs/${runId}`)).body.status).toBe('cancelled');
    } finally {
      await upstream.close();
    }
  });
});
