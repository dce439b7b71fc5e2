import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Page } from 'playwright-core';
import type { NewRunEvent } from '../../contracts/events.ts';
import { ownRedisKeys, startApi, type TestApi } from '../peers/stack.ts';
import { ownNamespace } from '../peers/temporal.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { client } from '../fixtures/http.ts';
import { insertRun } from '../fixtures/runs.ts';
import { simpleConfig } from '../fixtures/terraform.ts';
import { computedStyle, cssVar, launchBrowser, screenshot, signIn, waitForCount, waitForLineCount, withPage as withPageOf } from './browser.ts';

// The runs list and the run page, as a new user meets them (issue 8, items 2, 3, 6, 12, 13, 14, 15,
// 17): headless Chromium against the real API, PostgreSQL and Redis. Runs are rows and events written
// as a worker writes them, so each test controls what is shown; re-run starts a real workflow in a
// namespace of this file's own (no worker polls it). Needs the built dashboard (npm run build:web).
const dist = path.resolve('web/dist/index.html');

let api: TestApi;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let team: { id: string; slug: string };
let operator: { id: string; email: string; password: string };
let approver: { id: string; email: string; password: string };

const withPage = (fn: (page: Page) => Promise<void>) => withPageOf(browser.context, fn);
const log = (message: string, stream: 'stdout' | 'stderr' = 'stdout'): NewRunEvent => ({ type: 'log', level: 'info', stream, message, attempt: 1 });
const ago = (ms: number) => new Date(Date.now() - ms);
const color = (page: Page, selector: string, prop = 'color') => computedStyle(page, selector, prop);

beforeAll(async () => {
  if (!fs.existsSync(dist)) throw new Error('web/dist is missing: run `npm run build:web` first');
  const namespace = await ownNamespace('ui-runs');
  api = await startApi({ RATE_LIMIT_LOGIN_PER_MINUTE: '1000', TEMPORAL_NAMESPACE: namespace, ...ownRedisKeys('ui-runs') });
  team = await createTeam(api.deps.db.em);
  operator = await createUser(api.deps.db.em, { teams: [team], role: 'operator' });
  approver = await createUser(api.deps.db.em, { teams: [team], role: 'approver' });
  browser = await launchBrowser();
  await withPage((page) => signIn(page, api.baseUrl, operator));
});
afterAll(async () => {
  await browser?.close();
  await api?.close();
});

describe('the run page', () => {
  it('shows a rejected plan as discarded, in a neutral colour, with who rejected it and why, once (item 2)', async () => {
    const at = ago(60_000);
    const runId = await insertRun(api.deps.db.em, team, operator.id, {
      status: 'discarded',
      approval: { decision: 'rejected', by: approver.id, byEmail: approver.email, comment: 'not during the freeze', at: at.toISOString() },
      startedAt: ago(120_000),
      finishedAt: at,
    });
    await withPage(async (page) => {
      await page.goto(`${api.baseUrl}/runs/${runId}`);
      const badge = page.locator('h1 [data-status=discarded]');
      await expect(badge.textContent()).resolves.toBe('Discarded');
      expect(await color(page, 'h1 [data-status=discarded]')).toBe(await cssVar(page, '--idle'));
      expect(await color(page, 'h1 [data-status=discarded]')).not.toBe(await cssVar(page, '--bad'));
      await expect(page.getByTestId('decision').textContent()).resolves.toMatch(new RegExp(`rejected by ${approver.email}.*not during the freeze`));
      expect(await page.locator('.run-head').evaluate((el) => el.textContent!.split('not during the freeze').length - 1)).toBe(1);
      expect(await page.getByTestId('run-error').count()).toBe(0);
    });
  });

  it('shows a failure as written (lines kept, monospace) once, and leads to its line in the log (item 6)', async () => {
    const error = [
      'terraform plan failed: Error: Unsupported argument',
      '  on main.tf line 3, in resource "terraform_data" "x":',
      '   3:   colour = "blue"',
      'An argument named "colour" is not expected here.',
    ].join('\n');
    const runId = await insertRun(api.deps.db.em, team, operator.id, { status: 'failed', error, startedAt: ago(5_000), finishedAt: ago(1_000) });
    const before = Array.from({ length: 300 }, (_, i) => log(`terraform_data.item[${i}]: Refreshing state...`));
    await api.deps.events.append(runId, [
      ...before,
      log('╷', 'stderr'),
      log('│ Error: Unsupported argument', 'stderr'),
      log('│   on main.tf line 3, in resource "terraform_data" "x":', 'stderr'),
      log('╵', 'stderr'),
      { type: 'status', level: 'error', message: `failed: ${error}`, data: { status: 'failed', error }, attempt: 1 },
    ]);
    await withPage(async (page) => {
      await page.goto(`${api.baseUrl}/runs/${runId}`);
      await waitForLineCount(page, 304);
      const shown = page.getByTestId('run-error').locator('pre');
      expect(await shown.evaluate((el) => el.textContent)).toBe(error);
      expect(await color(page, '[data-testid=run-error] pre', 'whiteSpace')).toBe('pre-wrap');
      expect(await color(page, '[data-testid=run-error] pre', 'fontFamily')).toMatch(/mono/i);
      // Once: the timeline names the status and points up, it does not repeat the text.
      await page.getByTestId('timeline').locator('[data-status=failed]').waitFor();
      expect(await page.getByTestId('timeline').textContent()).not.toContain('Unsupported argument');
      await page.getByRole('button', { name: 'Show in the log' }).click();
      const marked = page.locator('.logview-row.current');
      await expect(marked.textContent()).resolves.toContain('Error: Unsupported argument');
      const [box, row] = [await page.getByTestId('log').boundingBox(), await marked.boundingBox()];
      expect(row!.y >= box!.y && row!.y + row!.height <= box!.y + box!.height).toBe(true);
      await expect(page.getByText(/line 302 of the log/).count()).resolves.toBe(1);
    });
  });

  it('splits time working from time waiting for approval, on the page and in the list (item 13)', async () => {
    const runId = await insertRun(api.deps.db.em, team, operator.id, {
      target: `timed-${crypto.randomUUID().slice(0, 6)}`,
      status: 'succeeded',
      startedAt: ago(409_000),
      finishedAt: ago(1_000),
      waitingMs: 407_000,
    });
    await withPage(async (page) => {
      await page.goto(`${api.baseUrl}/runs/${runId}`);
      await expect(page.getByTestId('run-duration').textContent()).resolves.toBe('1s working · 6m 47s waiting for approval');
      await page.goto(`${api.baseUrl}/?q=${runId.slice(0, 8)}`);
      await expect(page.locator(`tr[data-run-id="${runId}"] [data-testid=run-times]`).textContent()).resolves.toBe('1s working · 6m 47s waiting for approval');
    });
  });

  it('renders terraform’s colours in the viewer and strips them from the download (item 14)', async () => {
    const runId = await insertRun(api.deps.db.em, team, operator.id);
    await api.deps.events.append(runId, [
      log('Terraform will perform the following actions:'),
      log('\x1b[32m  +\x1b[0m resource "terraform_data" "new" {'),
      log('\x1b[31m  -\x1b[0m resource "terraform_data" "old" {'),
      log('\x1b[1mPlan:\x1b[0m 1 to add, 0 to change, 1 to destroy.'),
    ]);
    await withPage(async (page) => {
      await page.goto(`${api.baseUrl}/runs/${runId}`);
      await waitForLineCount(page, 4);
      expect(await color(page, '.logview-row .fg2')).toBe(await cssVar(page, '--c2'));
      expect(await color(page, '.logview-row .fg1')).toBe(await cssVar(page, '--c1'));
      expect(await page.getByTestId('log').textContent()).not.toContain('\x1b');
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download log' }).click()]);
      const text = fs.readFileSync((await download.path())!, 'utf8');
      expect(text).toBe('Terraform will perform the following actions:\n  + resource "terraform_data" "new" {\n  - resource "terraform_data" "old" {\nPlan: 1 to add, 0 to change, 1 to destroy.\n');
    });
  });

  it('shows the run’s inputs folded, and Re-run starts a new run with them (item 15)', async () => {
    const params = { workspace: `inputs-${crypto.randomUUID().slice(0, 6)}`, files: simpleConfig('shown'), variables: { who: 'world' }, autoApply: false };
    const runId = await insertRun(api.deps.db.em, team, operator.id, { target: params.workspace, params, startedAt: ago(3_000), finishedAt: ago(1_000) });
    await withPage(async (page) => {
      await page.goto(`${api.baseUrl}/runs/${runId}`);
      const inputs = page.getByTestId('run-inputs');
      expect(await inputs.evaluate((el) => (el as unknown as { open: boolean }).open)).toBe(false);
      await inputs.locator('summary').click();
      await expect(inputs.locator('figure pre').textContent()).resolves.toBe(params.files['main.tf']);
      await expect(inputs.locator('table').textContent()).resolves.toContain('who"world"');
      await page.getByRole('button', { name: 'Re-run' }).click();
      await page.waitForURL((url) => /\/runs\/[0-9a-f-]{36}$/.test(url.pathname) && !url.pathname.endsWith(runId));
      const newId = page.url().split('/').pop()!;
      await page.locator('h1 [data-status=queued]').waitFor();
      const token = (await client(api).post('/api/v1/auth/login', operator)).body.accessToken as string;
      expect((await client(api, token).get(`/api/v1/runs/${newId}`)).body).toMatchObject({ params, status: 'queued', requestedBy: { id: operator.id } });
      await api.deps.temporal.workflow.getHandle(newId).terminate('test over');
    });
  });

  it('says "Cancelling…" and who asked at once, then offers Force cancel with its warning (item 1)', async () => {
    // No worker polls this file's namespace: the run stays queued, so "cancelling" lasts as long as the test looks.
    const token = (await client(api).post('/api/v1/auth/login', operator)).body.accessToken as string;
    const started = await client(api, token).post('/api/v1/runs', { kind: 'terraform', team: team.slug, params: { workspace: `cx-${crypto.randomUUID().slice(0, 6)}`, files: simpleConfig() } });
    const runId = started.body.id as string;
    try {
      await withPage(async (page) => {
        await page.goto(`${api.baseUrl}/runs/${runId}`);
        await page.locator('h1 [data-status=queued]').waitFor();
        page.once('dialog', (d) => void d.accept());
        await page.getByRole('button', { name: 'Cancel run' }).click();
        await page.locator('h1 .badge', { hasText: /^Cancelling…$/ }).waitFor();
        expect(await color(page, 'h1 .badge')).toBe(await cssVar(page, '--idle'));
        await page.getByTestId('cancel-request').filter({ hasText: `Cancel requested by ${operator.email}` }).waitFor();
        expect(await page.getByRole('button', { name: 'Cancel run' }).count()).toBe(0);
        await expect(page.locator('#force-warning').textContent()).resolves.toContain('state may be lost');
        let warned = '';
        page.once('dialog', (d) => {
          warned = d.message();
          void d.accept();
        });
        await page.getByRole('button', { name: 'Force cancel' }).click();
        await page.getByTestId('cancel-request').filter({ hasText: `Force cancel requested by ${operator.email}` }).waitFor();
        expect(warned).toMatch(/may not save its state/);
        await page.getByRole('button', { name: 'Force cancel' }).waitFor({ state: 'detached' });
        await screenshot(page, 'run-cancelling');
      });
    } finally {
      await api.deps.temporal.workflow.getHandle(runId).terminate('test over');
    }
  });

  it('fits the log in a 1366×900 window while following: the newest line is on screen (item 12)', async () => {
    const runId = await insertRun(api.deps.db.em, team, operator.id, {
      status: 'running',
      step: 'apply',
      summary: { add: 3, change: 1, destroy: 0 },
      error: null,
      startedAt: ago(2_000),
      finishedAt: null,
    });
    await api.deps.events.append(runId, Array.from({ length: 400 }, (_, i) => log(`line ${i + 1}: terraform_data.item[${i}]: Creating...`)));
    const own = await launchBrowser({ viewport: { width: 1366, height: 900 } });
    try {
      await withPageOf(own.context, async (page) => {
        await signIn(page, api.baseUrl, operator);
        await page.goto(`${api.baseUrl}/runs/${runId}`);
        await waitForLineCount(page, 400);
        // Following: the newest line ends up at the bottom of the log once the page has laid out.
        const last = page.locator('.logview-row', { hasText: 'line 400:' });
        await page.waitForFunction(() => {
          const doc = (globalThis as unknown as { document: { querySelector(s: string): { getBoundingClientRect(): { bottom: number } } | null; querySelectorAll(s: string): Iterable<{ textContent: string; getBoundingClientRect(): { bottom: number } }> } }).document;
          const row = [...doc.querySelectorAll('.logview-row')].find((r) => r.textContent.includes('line 400:'));
          const box = doc.querySelector('[data-testid=log]');
          return !!row && !!box && row.getBoundingClientRect().bottom <= box.getBoundingClientRect().bottom + 0.5;
        });
        const [row, logBox] = [await last.boundingBox(), await page.getByTestId('log').boundingBox()];
        expect(logBox!.y + logBox!.height).toBeLessThanOrEqual(900);
        expect(row!.y + row!.height).toBeLessThanOrEqual(900);
        expect(await page.evaluate('scrollY')).toBe(0);
      });
    } finally {
      await own.close();
    }
  });
});

describe('the runs list', () => {
  it('searches text, filters by who started a run and by date, and shows plan and approver (item 17)', async () => {
    const tag = crypto.randomUUID().slice(0, 6);
    const approval = { decision: 'approved' as const, by: approver.id, byEmail: approver.email, comment: '', at: ago(0).toISOString() };
    const mine = await insertRun(api.deps.db.em, team, operator.id, { target: `dns-${tag}`, summary: { add: 2, change: 1, destroy: 0 }, approval, createdAt: ago(3 * 86_400_000) });
    const theirs = await insertRun(api.deps.db.em, team, approver.id, { target: `net-${tag}`, createdAt: ago(60_000) });
    await withPage(async (page) => {
      await page.goto(`${api.baseUrl}/`);
      const filters = page.getByRole('form', { name: 'Filter runs' });
      await filters.getByLabel('Search').fill(tag);
      await filters.getByLabel('Search').press('Enter');
      await waitForCount(page, 'tr[data-run-id]', 2);
      expect(page.url()).toContain(`q=${tag}`);
      const row = page.locator(`tr[data-run-id="${mine}"]`);
      await expect(row.getByTestId('plan-inline').textContent()).resolves.toBe('+2 ~1 −0');
      await expect(row.getByTestId('approver').textContent()).resolves.toBe(`approved by ${approver.email}`);

      await filters.getByLabel('Started by').fill(approver.email);
      await filters.getByLabel('Started by').press('Enter');
      await waitForCount(page, 'tr[data-run-id]', 1);
      await page.locator(`tr[data-run-id="${theirs}"]`).waitFor();
      await filters.getByLabel('Started by').fill('');
      await filters.getByLabel('Started by').press('Enter');
      await waitForCount(page, 'tr[data-run-id]', 2);

      const day = (d: Date) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
      await filters.getByLabel('To').fill(day(ago(2 * 86_400_000)));
      await waitForCount(page, 'tr[data-run-id]', 1);
      await page.locator(`tr[data-run-id="${mine}"]`).waitFor();
      await filters.getByLabel('To').fill('');
      await filters.getByLabel('From').fill(day(ago(86_400_000)));
      await waitForCount(page, 'tr[data-run-id]', 1);
      await page.locator(`tr[data-run-id="${theirs}"]`).waitFor();
      await screenshot(page, 'runs-list-search');
    });
  });

  it('keeps a rejected run out of the failed filter (item 2)', async () => {
    const target = `rej-${crypto.randomUUID().slice(0, 6)}`;
    const runId = await insertRun(api.deps.db.em, team, operator.id, { target, status: 'discarded' });
    await withPage(async (page) => {
      await page.goto(`${api.baseUrl}/?target=${target}&status=failed`);
      await page.getByText('No runs match these filters.').waitFor();
      await page.goto(`${api.baseUrl}/?target=${target}&status=discarded`);
      await page.locator(`tr[data-run-id="${runId}"] [data-status=discarded]`).waitFor();
    });
  });
});

describe('every page', () => {
  it('is Live when Start a run, Account or the run list is the first page loaded (item 3)', async () => {
    const own = await launchBrowser();
    try {
      await withPageOf(own.context, async (page) => {
        await signIn(page, api.baseUrl, operator);
        for (const where of ['/runs/new', '/account', '/']) {
          await page.goto(`${api.baseUrl}${where}`);
          await page.getByTestId('live-state').filter({ hasText: /^Live$/ }).waitFor({ timeout: 10_000 });
        }
      });
    } finally {
      await own.close();
    }
  });
});
