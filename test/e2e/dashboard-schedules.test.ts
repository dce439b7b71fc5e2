import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Connection } from '@temporalio/client';
import { createTeam, createUser } from '../fixtures/users.ts';
import { simpleConfig } from '../fixtures/terraform.ts';
import { startApi, type TestApi } from '../peers/stack.ts';
import { createNamespace } from '../peers/temporal.ts';
import { startTestWorker, type TestWorker } from '../peers/worker.ts';
import { inOwnBrowser, screenshot, signIn } from './browser.ts';

// Schedules in headless Chromium against the real API, Temporal and a worker: made from the start
// form's "Repeat on a schedule", listed with their next fire, fired now, paused.
let api: TestApi;
let worker: TestWorker;
let approver: { id: string; email: string; password: string };

beforeAll(async () => {
  const isolated = { TEMPORAL_NAMESPACE: `dash-sched-${crypto.randomUUID().slice(0, 8)}` };
  const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  await createNamespace(connection, isolated.TEMPORAL_NAMESPACE);
  await connection.close();
  api = await startApi(isolated);
  worker = await startTestWorker(isolated);
  const team = await createTeam(api.deps.db.em);
  approver = await createUser(api.deps.db.em, { teams: [team], role: 'approver' });
});
afterAll(async () => {
  await worker?.shutdown();
  await api?.close();
});

describe('Schedules page', () => {
  it('a schedule made from the start form fires on "Run now" and links its run; a bad cron names the field', async () => {
    await inOwnBrowser(async (page) => {
      await signIn(page, api.baseUrl, approver);
      await page.getByRole('link', { name: 'Schedules' }).click();
      await page.getByText('No schedules in this team yet.').waitFor();
      await page.getByRole('link', { name: 'New schedule' }).click();
      await page.getByRole('heading', { name: 'New schedule' }).waitFor();
      const form = page.getByTestId('start-form');
      await form.getByLabel('Workspace').fill(`sched-${crypto.randomUUID().slice(0, 6)}`);
      await form.getByLabel('Contents of main.tf').fill(simpleConfig()['main.tf']);
      await form.getByLabel('Schedule name').fill('nightly plan');
      await form.getByLabel('Cron expression').fill('61 3 * * *');
      await form.getByLabel('Time zone').fill('Europe/Berlin');
      await form.getByRole('button', { name: 'Create schedule' }).click();
      // Temporal's parser refuses minute 61: the message sits under the cron field.
      await expect(form.locator('.has-error .field-errors').first().textContent()).resolves.toMatch(/Minute/i);

      await form.getByLabel('Cron expression').fill('0 3 * * *');
      await form.getByRole('button', { name: 'Create schedule' }).click();
      const row = page.locator('[data-schedule="nightly plan"]');
      await row.waitFor();
      await expect(row.locator('td').nth(1).textContent()).resolves.toBe('0 3 * * * (Europe/Berlin)');
      await expect(row.locator('td').nth(3).textContent()).resolves.toBe('never fired');

      await row.getByRole('button', { name: 'Run now' }).click();
      // The fire's run shows up as the latest fire, a link to the run page.
      // The page refreshes itself: the fire's run shows up as the latest fire, a link to the run page.
      const link = row.locator('td').nth(3).getByRole('link');
      await link.waitFor({ timeout: 30_000 });
      await screenshot(page, 'schedules');
      await link.click();
      await page.locator('[data-requester="schedule"]').filter({ hasText: 'Schedule nightly plan' }).first().waitFor();

      await page.goBack();
      page.once('dialog', (d) => void d.accept('freeze'));
      await page.locator('[data-schedule="nightly plan"]').getByRole('button', { name: 'Pause' }).click();
      await page.locator('[data-schedule="nightly plan"]').getByText('paused: freeze').waitFor();
    });
  }, 120_000);
});
