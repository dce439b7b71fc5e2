import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Locator, Page } from 'playwright-core';
import type { NewRunEvent } from '../../contracts/events.ts';
import { startApi, type TestApi } from '../peers/stack.ts';
import { createUser } from '../fixtures/users.ts';
import { client } from '../fixtures/http.ts';
import { createRunRow } from '../fixtures/runs.ts';
import { launchBrowser, signIn, waitForCount, waitForLineCount, withPage as withPageOf } from './browser.ts';

// The run page's log viewer in headless Chromium against the real API, PostgreSQL and Redis. The runs
// are rows with log events appended straight to the event store (as a worker's activities do), so the
// test controls every line and needs no worker. Needs the built dashboard (npm run build:web).
const dist = path.resolve('web/dist/index.html');

let api: TestApi;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let admin: { id: string; email: string; password: string };

const withPage = (fn: (page: Page) => Promise<void>) => withPageOf(browser.context, fn);

/** Appends `messages` to the run as stdout log events, in batches as a worker would. */
async function appendLogs(runId: string, messages: string[]): Promise<void> {
  for (let i = 0; i < messages.length; i += 5000) {
    const batch: NewRunEvent[] = messages.slice(i, i + 5000).map((message) => ({ type: 'log', level: 'info', stream: 'stdout', message, attempt: 1 }));
    await api.deps.events.append(runId, batch);
  }
}
const numbered = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `line ${from + i}: terraform_data.item[${from + i}]: Creating...`);

type Rect = { top: number; bottom: number };
type El = { getBoundingClientRect(): Rect; querySelectorAll(s: string): Iterable<El & { textContent: string }> };
/** The line numbers of the rows the viewport shows (the DOM also holds a margin of rows around them). */
const shownLines = (log: Locator) =>
  log.evaluate((root: El) => {
    const box = root.getBoundingClientRect();
    const inView = (r: Rect) => r.bottom > box.top && r.top < box.bottom;
    return [...root.querySelectorAll('.logview-row .ln')].filter((ln) => inView(ln.getBoundingClientRect())).map((ln) => ln.textContent);
  });
async function inViewport(log: Locator, row: Locator): Promise<boolean> {
  const [box, r] = [await log.boundingBox(), await row.boundingBox()];
  return !!box && !!r && r.y >= box.y && r.y + r.height <= box.y + box.height;
}

beforeAll(async () => {
  if (!fs.existsSync(dist)) throw new Error('web/dist is missing: run `npm run build:web` first');
  api = await startApi({ RATE_LIMIT_LOGIN_PER_MINUTE: '1000' });
  // A platform admin sees every team's runs, including the fixture rows' teams.
  admin = await createUser(api.deps.db.em, { role: 'platform-admin' });
  browser = await launchBrowser();
  await withPage((page) => signIn(page, api.baseUrl, admin));
});
afterAll(async () => {
  await browser?.close();
  await api?.close();
});

describe('the log viewer in a real browser', () => {
  it('finds a line by search, highlights it and scrolls to it; paused, it keeps the viewport while lines arrive', async () => {
    const runId = await createRunRow(api.deps.db.em);
    const lines = numbered(1, 2000);
    lines[299] = 'line 300: \x1b[31mError:\x1b[0m the needle in the haystack';
    await appendLogs(runId, lines);
    await withPage(async (page) => {
      await page.goto(`${api.baseUrl}/runs/${runId}`);
      await waitForLineCount(page, 2000);
      const log = page.getByTestId('log');
      // Following: the newest line is in view.
      await log.locator('.logview-row .ln', { hasText: /^2000$/ }).waitFor();

      await page.getByLabel('Search the log').fill('NEEDLE');
      await page.locator('#log-matches', { hasText: '1 of 1' }).waitFor();
      const current = log.locator('.logview-row.current');
      await current.locator('mark', { hasText: 'needle' }).waitFor();
      expect(await current.locator('.ln').textContent()).toBe('300');
      expect(await inViewport(log, current)).toBe(true);
      // Searching stops the follow, so the match stays in view.
      expect(await page.getByTestId('log-follow').getAttribute('aria-pressed')).toBe('false');
      await page.getByLabel('Search the log').press('Escape');
      await waitForCount(page, '[data-testid=log] mark', 0);

      // Back to following, then pause: new lines arrive (the count says so) but the viewport stays.
      await page.getByTestId('log-follow').click();
      await log.locator('.logview-row .ln', { hasText: /^2000$/ }).waitFor();
      await page.getByRole('button', { name: 'Pause follow' }).click();
      const before = { top: await log.evaluate((el) => el.scrollTop as number), shown: await shownLines(log) };
      await appendLogs(runId, numbered(2001, 2500));
      await page.getByTestId('log-count').filter({ hasText: /2,?500 lines/ }).waitFor();
      expect(await log.evaluate((el) => el.scrollTop as number)).toBe(before.top);
      expect(await shownLines(log)).toEqual(before.shown);
      expect(before.shown).toContain('2000');

      // Following again jumps to the newest line.
      await page.getByRole('button', { name: 'Follow', exact: true }).click();
      await log.locator('.logview-row .ln', { hasText: /^2500$/ }).waitFor();
    });
  });

  it('downloads the full log: the file holds every stored log line, colours stripped', async () => {
    const runId = await createRunRow(api.deps.db.em);
    // More lines than one page of the events API, so the download has to page through all of them.
    const lines = numbered(1, 12_000);
    lines[10] = '\x1b[1m\x1b[32mApply complete!\x1b[0m Resources: 1 added';
    await appendLogs(runId, lines);
    await withPage(async (page) => {
      await page.goto(`${api.baseUrl}/runs/${runId}`);
      await waitForLineCount(page, lines.length);
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download log' }).click()]);
      expect(download.suggestedFilename()).toBe(`run-${runId}.log`);
      const file = fs.readFileSync(await download.path(), 'utf8');
      const expected = [...lines];
      expected[10] = 'Apply complete! Resources: 1 added';
      expect(file.split('\n')).toEqual([...expected, '']);

      const token = (await client(api).post('/api/v1/auth/login', admin)).body.accessToken as string;
      let stored = 0;
      for (let after: number | null = 0; after !== null; ) {
        const page_ = (await client(api, token).get(`/api/v1/runs/${runId}/events?after=${after}&limit=5000`)).body as { events: { type: string }[]; next: number | null };
        stored += page_.events.filter((e) => e.type === 'log').length;
        after = page_.next;
      }
      expect(stored).toBe(expected.length);
    });
  });

  it('holds 100,000 lines with a bounded number of rows in the DOM, and still scrolls and searches', async () => {
    const runId = await createRunRow(api.deps.db.em);
    await appendLogs(runId, numbered(1, 100_000));
    await withPage(async (page) => {
      await page.goto(`${api.baseUrl}/runs/${runId}`);
      await waitForLineCount(page, 100_000, 150_000);
      const log = page.getByTestId('log');
      await log.locator('.logview-row .ln', { hasText: /^100000$/ }).waitFor();
      // Virtualised: only the rows in view plus a margin exist, whatever the log's length.
      const bound = 150;
      expect(await log.locator('.logview-row').count()).toBeLessThanOrEqual(bound);

      await page.getByTestId('log-follow').click();
      await log.evaluate((el) => (el.scrollTop = (el.scrollHeight as number) / 2));
      await log.locator('.logview-row .ln', { hasText: /^50001$/ }).waitFor();
      expect(await log.locator('.logview-row').count()).toBeLessThanOrEqual(bound);

      await page.getByLabel('Search the log').fill('line 1234:');
      await page.locator('#log-matches', { hasText: '1 of 1' }).waitFor();
      const current = log.locator('.logview-row.current');
      expect(await current.locator('.ln').textContent()).toBe('1234');
      expect(await inViewport(log, current)).toBe(true);
      expect(await log.locator('.logview-row').count()).toBeLessThanOrEqual(bound);
    });
  }, 240_000);
});
