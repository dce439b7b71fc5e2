import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { insertRun } from '../fixtures/runs.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { startApi, type TestApi } from '../peers/stack.ts';
import { inOwnBrowser, signIn } from './browser.ts';

// The Metrics page in headless Chromium against the real API: runs per day charted, the queue, and
// each kind's outcomes and working time, from rows inserted directly (no worker needed).
let api: TestApi;
let viewer: { id: string; email: string; password: string };

beforeAll(async () => {
  api = await startApi();
  const team = await createTeam(api.deps.db.em);
  viewer = await createUser(api.deps.db.em, { teams: [team], role: 'viewer' });
  const startedAt = new Date(Date.now() - 3_600_000);
  for (const [status, workMs] of [['succeeded', 60_000], ['succeeded', 180_000], ['failed', 120_000]] as const) {
    await insertRun(api.deps.db.em, team, viewer.id, { kind: 'ansible', status, createdAt: startedAt, startedAt, finishedAt: new Date(startedAt.getTime() + workMs) });
  }
  await insertRun(api.deps.db.em, team, viewer.id, { kind: 'terraform', status: 'awaiting_approval', startedAt });
});
afterAll(async () => {
  await api?.close();
});

it('charts runs per day and shows the queue and each kind’s outcomes and working time', async () => {
  await inOwnBrowser(async (page) => {
    await signIn(page, api.baseUrl, viewer);
    await page.getByRole('link', { name: 'Metrics' }).click();
    await page.getByRole('img', { name: 'Runs per day' }).locator('canvas').first().waitFor();
    await expect(page.locator('p', { hasText: 'Now:' }).textContent()).resolves.toBe('Now: 0 queued, 0 running, 1 awaiting approval.');
    const ansible = page.getByRole('table', { name: 'By kind' }).getByRole('row').filter({ hasText: 'ansible' });
    await expect(ansible.locator('td').allTextContents()).resolves.toEqual(['ansible', '3', '2', '1', '2.0 min', '2.9 min']);
  });
});
