import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Page } from 'playwright-core';
import type { NewRunEvent } from '../../contracts/events.ts';
import { RunSchema, TeamSchema, UserSchema } from '../../db/entities/index.ts';
import { startApi, type TestApi } from '../peers/stack.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { launchBrowser, signIn, waitForCount, waitForLineCount, withPage } from './browser.ts';

// Runs-list paging and filters, the phone-width layout and the theme preference, in headless Chromium
// against the real API, PostgreSQL and Redis. Run rows are inserted directly (no worker needed): the
// list only reads rows. Needs the built dashboard (npm run build:web).
const ARTIFACTS = path.resolve('test-artifacts');
const dist = path.resolve('web/dist/index.html');
const RUNS = 30;

let api: TestApi;
let team: { id: string; slug: string };
let member: { id: string; email: string; password: string };
let admin: { id: string; email: string; password: string };
let runIds: string[];

/** RUNS rows in `team`, a minute apart (index 0 oldest); every third one failed, the rest succeeded. */
async function insertRuns(): Promise<string[]> {
  const em = api.deps.db.em.fork();
  const start = Date.now() - RUNS * 60_000;
  const ids = Array.from({ length: RUNS }, (_, i) => {
    const at = new Date(start + i * 60_000);
    return em.create(RunSchema, {
      id: crypto.randomUUID(),
      kind: 'terraform',
      team: em.getReference(TeamSchema, team.id),
      status: i % 3 === 0 ? 'failed' : 'succeeded',
      target: `page-${i}`,
      activeTarget: null,
      params: {},
      requestedBy: em.getReference(UserSchema, member.id),
      requester: { type: 'user', id: member.id, label: 'fixture@example.test' },
      createdAt: at,
      updatedAt: new Date(at.getTime() + 42_000),
    }).id;
  });
  await em.flush();
  return ids;
}

/** Whether the page scrolls sideways (the phone-width check). */
const overflowsX = (page: Page) => page.evaluate('document.scrollingElement.scrollWidth > innerWidth') as Promise<boolean>;

beforeAll(async () => {
  if (!fs.existsSync(dist)) throw new Error('web/dist is missing: run `npm run build:web` first');
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  api = await startApi({ RATE_LIMIT_LOGIN_PER_MINUTE: '1000' });
  team = await createTeam(api.deps.db.em);
  // A member of this team only, so the list holds exactly the rows inserted here.
  member = await createUser(api.deps.db.em, { teams: [team], role: 'viewer' });
  admin = await createUser(api.deps.db.em, { teams: [team], role: 'platform-admin' });
  runIds = await insertRuns();
});
afterAll(async () => {
  await api?.close();
});

describe('the dashboard layout in a real browser', () => {
  it('pages the runs list with "Load older runs", newest first, and filters it by status and workspace', async () => {
    const browser = await launchBrowser();
    try {
      await withPage(browser.context, async (page) => {
        await signIn(page, api.baseUrl, member);
        const rows = page.locator('tr[data-run-id]');
        const filters = page.getByRole('form', { name: 'Filter runs' });
        await waitForCount(page, 'tr[data-run-id]', 25);
        expect(await rows.first().getAttribute('data-run-id')).toBe(runIds[RUNS - 1]);
        await page.getByRole('button', { name: 'Load older runs' }).click();
        await waitForCount(page, 'tr[data-run-id]', RUNS);
        expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-run-id') as string))).toEqual([...runIds].reverse());
        await page.getByRole('button', { name: 'Load older runs' }).waitFor({ state: 'detached' });

        await filters.getByLabel('Status').selectOption('failed');
        await waitForCount(page, 'tr[data-run-id]', RUNS / 3);
        expect(page.url()).toMatch(/\?status=failed$/);
        expect(await page.locator('tr[data-run-id] [data-status=failed]').count()).toBe(RUNS / 3);

        await filters.getByLabel('Target').fill('page-3');
        await filters.getByLabel('Target').press('Enter');
        await waitForCount(page, 'tr[data-run-id]', 1);
        expect(await rows.first().getAttribute('data-run-id')).toBe(runIds[3]);
        // The filters live in the URL: a reload keeps them.
        await page.reload();
        await page.locator(`tr[data-run-id="${runIds[3]}"]`).waitFor();
        expect(await filters.getByLabel('Status').inputValue()).toBe('failed');
      });
    } finally {
      await browser.close();
    }
  });

  it('lays every page out without sideways scrolling at phone width (390 px)', async () => {
    const runId = runIds[RUNS - 1]!;
    const lines: NewRunEvent[] = Array.from({ length: 50 }, (_, i) => ({
      type: 'log',
      level: 'info',
      stream: 'stdout',
      message: `terraform_data.item[${i}]: Creating... a line far wider than a phone screen ${'x'.repeat(200)}`,
      attempt: 1,
    }));
    await api.deps.events.append(runId, lines);
    const browser = await launchBrowser({ viewport: { width: 390, height: 844 } });
    try {
      await withPage(browser.context, async (page) => {
        await signIn(page, api.baseUrl, admin);
        await page.locator('tr[data-run-id]').first().waitFor();
        expect(await overflowsX(page)).toBe(false);
        await page.goto(`${api.baseUrl}/runs/new`);
        await page.getByTestId('start-form').getByLabel('Workspace').waitFor();
        expect(await overflowsX(page)).toBe(false);
        await page.goto(`${api.baseUrl}/runs/${runId}`);
        await waitForLineCount(page, lines.length);
        expect(await overflowsX(page)).toBe(false);
        await page.screenshot({ path: path.join(ARTIFACTS, 'run-page-phone.png') });
        await page.goto(`${api.baseUrl}/admin`);
        await page.getByRole('heading', { name: 'Administration' }).waitFor();
        await page.getByRole('heading', { name: 'Users' }).waitFor();
        expect(await overflowsX(page)).toBe(false);
      });
    } finally {
      await browser.close();
    }
  });

  it('keeps the dark theme across a reload', async () => {
    const browser = await launchBrowser();
    try {
      await withPage(browser.context, async (page) => {
        await signIn(page, api.baseUrl, member);
        const background = () => page.evaluate('getComputedStyle(document.body).backgroundColor') as Promise<string>;
        const light = await background();
        await page.getByLabel('Theme').selectOption('dark');
        await page.locator('html[data-theme=dark]').waitFor({ state: 'attached' });
        const dark = await background();
        expect(dark).not.toBe(light);
        await page.reload();
        await page.getByRole('heading', { name: 'Runs' }).waitFor();
        expect(await page.locator('html').getAttribute('data-theme')).toBe('dark');
        expect(await page.getByLabel('Theme').inputValue()).toBe('dark');
        expect(await background()).toBe(dark);
      });
    } finally {
      await browser.close();
    }
  });
});
