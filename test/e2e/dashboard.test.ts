import { stripVTControlCharacters } from 'node:util';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Page } from 'playwright-core';
import http from 'node:http';
import { startApi, type TestApi } from '../peers/stack.ts';
import { ownNamespace } from '../peers/temporal.ts';
import { startTestWorker, type TestWorker } from '../peers/worker.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { client } from '../fixtures/http.ts';
import { simpleConfig, slowConfig } from '../fixtures/terraform.ts';
import { launchBrowser, screenshot, signIn as signInAt, startCuttableProxy, viewerLines, waitForLogLine, withPage as withPageOf } from './browser.ts';
import { until } from '../fixtures/until.ts';

// The dashboard in headless Chromium against the real stack: API + WebSocket hub, a real infra
// worker, the Temporal dev server, PostgreSQL, Redis and the real terraform binary. Needs the built
// dashboard (npm run build:web; scripts/test.sh builds it first).
const dist = path.resolve('web/dist/index.html');

let api: TestApi;
let worker: TestWorker;
let proxy: Awaited<ReturnType<typeof startCuttableProxy>>;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let team: { id: string; slug: string };
let approver: { id: string; email: string; password: string };
let viewer: { id: string; email: string; password: string };

const workspace = () => `ui-${crypto.randomUUID().slice(0, 8)}`;
const shot = screenshot;
const tokenOf = async (who: { email: string; password: string }) => (await client(api).post('/api/v1/auth/login', who)).body.accessToken as string;

const storedLogLines = async (token: string, runId: string) => {
  const res = await client(api, token).get(`/api/v1/runs/${runId}/events?limit=5000`);
  return (res.body.events as { seq: number; type: string; message: string }[]).filter((e) => e.type === 'log').map((e) => ({ seq: e.seq, text: stripVTControlCharacters(e.message) }));
};
const waitForStatus = (token: string, runId: string, status: string) =>
  until(`run ${runId} to become ${status}`, async () => {
    const run = (await client(api, token).get(`/api/v1/runs/${runId}`)).body;
    return run.status === status ? run : undefined;
  }, 90_000, 250);

const withPage = (fn: (page: Page) => Promise<void>) => withPageOf(browser.context, fn);
const signIn = (page: Page, who: { email: string; password: string }) => signInAt(page, proxy.url, who);

beforeAll(async () => {
  if (!fs.existsSync(dist)) throw new Error('web/dist is missing: run `npm run build:web` first');
  // Its own namespace: on the shared one, another file's worker (or runs another file left) takes its tasks.
  const namespace = await ownNamespace('dashboard');
  api = await startApi({ TEMPORAL_NAMESPACE: namespace, RATE_LIMIT_LOGIN_PER_MINUTE: '1000' });
  worker = await startTestWorker({ TEMPORAL_NAMESPACE: namespace });
  const { hostname, port } = new URL(api.baseUrl);
  proxy = await startCuttableProxy({ host: hostname, port: Number(port) });
  team = await createTeam(api.deps.db.em);
  approver = await createUser(api.deps.db.em, { teams: [team], role: 'approver' });
  viewer = await createUser(api.deps.db.em, { teams: [team], role: 'viewer' });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await proxy?.close();
  await worker?.shutdown();
  await api?.close();
});

describe('the dashboard in a real browser', () => {
  it('serves the app with caching headers: hashed assets immutable, index.html revalidated, SPA fallback', async () => {
    const index = await fetch(`${api.baseUrl}/runs/00000000-0000-4000-8000-000000000000`);
    expect(index.status).toBe(200);
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const tag = index.headers.get('etag');
    expect(tag).toBeTruthy();
    // node:http, not fetch: fetch adds `Cache-Control: no-cache` to conditional requests, which
    // (rightly) disables the 304 a browser revalidating its cached copy gets.
    const revalidated = await new Promise<http.IncomingMessage>((resolve, reject) =>
      http.get(`${api.baseUrl}/`, { headers: { 'if-none-match': tag! } }, (res) => resolve(res.resume())).on('error', reject),
    );
    expect(revalidated.statusCode).toBe(304);
    // A browser keeps the 304's headers with its copy: the page's own policy, not the API answers' stricter one.
    expect(revalidated.headers['content-security-policy']).toBe(index.headers.get('content-security-policy'));
    expect(index.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await index.text();
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(asset).toBeDefined();
    const js = await fetch(`${api.baseUrl}${asset}`);
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(js.headers.get('content-type')).toContain('javascript');
    expect((await fetch(`${api.baseUrl}/api/v1/nope`)).headers.get('content-type')).toContain('problem+json');
    expect((await fetch(`${api.baseUrl}/assets/missing-123.js`)).status).toBe(404);
    for (const escape of ['/%2e%2e/package.json', '/..%2fpackage.json', '/assets/..%2f..%2fpackage.json']) {
      const res = await fetch(`${api.baseUrl}${escape}`);
      expect([res.status, await res.text()]).not.toEqual([200, expect.stringContaining('"name": "opssight"')]);
    }
  });

  it('logs in, starts a Terraform run from the generated form, streams the plan, approves, and ends succeeded', async () => {
    await withPage(async (page) => {
      await signIn(page, approver);
      await page.getByRole('link', { name: 'Start a run' }).first().click();
      const form = page.getByTestId('start-form');
      const ws = workspace();
      await form.getByLabel('Workspace').fill(ws);
      await form.getByLabel('Contents of main.tf').fill(simpleConfig()['main.tf']);
      await form.getByRole('button', { name: 'Add variable' }).click();
      await form.getByLabel('Variables 1 name').fill('value');
      await form.getByLabel('Variables 1 value').fill('from-the-browser');
      await form.getByRole('button', { name: 'Start run' }).click();
      await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);
      const runId = page.url().split('/').pop()!;

      await waitForLogLine(page, /Plan: 1 to add, 0 to change, 0 to destroy/);
      const approve = page.getByRole('button', { name: 'Approve' });
      await approve.waitFor({ timeout: 90_000 });
      await expect(page.getByTestId('plan-summary').textContent()).resolves.toMatch(/1\s*to add.*0\s*to change.*0\s*to destroy/);
      await shot(page, 'run-awaiting-approval');

      await page.getByLabel('Comment').fill('ship it');
      await approve.click();
      await page.locator('h1 [data-status=succeeded]').waitFor({ timeout: 90_000 });
      await waitForLogLine(page, /Apply complete! Resources: 1 added/);
      const token = await tokenOf(approver);
      const run = await waitForStatus(token, runId, 'succeeded');
      expect(run).toMatchObject({ params: { workspace: ws, variables: { value: 'from-the-browser' } }, approval: { decision: 'approved', comment: 'ship it' } });
      expect(await viewerLines(page)).toEqual(await storedLogLines(token, runId));
      await shot(page, 'run-succeeded');

      await page.getByRole('link', { name: 'Runs' }).first().click();
      await page.locator(`tr[data-run-id="${runId}"] [data-status=succeeded]`).waitFor();
    });
  });

  it('shows a viewer no Approve button, and the API refuses them anyway', async () => {
    const token = await tokenOf(approver);
    const started = await client(api, token).post('/api/v1/runs', { kind: 'terraform', team: team.slug, params: { workspace: workspace(), files: simpleConfig() } });
    expect(started.status).toBe(201);
    const runId = started.body.id as string;
    await waitForStatus(token, runId, 'awaiting_approval');

    const own = await launchBrowser();
    try {
      const page = await own.context.newPage();
      await signIn(page, viewer);
      await page.goto(`${proxy.url}/runs/${runId}`);
      await page.locator('h1 [data-status=awaiting_approval]').waitFor();
      await waitForLogLine(page, /Plan: 1 to add/);
      expect(await page.getByRole('button', { name: 'Approve' }).count()).toBe(0);
      expect(await page.getByRole('button', { name: 'Cancel run' }).count()).toBe(0);
    } finally {
      await own.close();
    }
    const viewerToken = await tokenOf(viewer);
    expect((await client(api, viewerToken).post(`/api/v1/runs/${runId}/approve`, { comment: 'me' })).status).toBe(403);
    expect((await client(api, token).post(`/api/v1/runs/${runId}/reject`, { comment: 'test over' })).status).toBe(200);
  });

  it("shows the server's field errors next to the fields of an invalid form", async () => {
    await withPage(async (page) => {
      await page.goto(`${proxy.url}/runs/new`);
      const form = page.getByTestId('start-form');
      await form.getByLabel('Workspace').fill('Not A Valid Name!');
      await form.getByLabel('File name').fill('../escape.sh');
      await form.getByLabel('Contents of ../escape.sh').fill('resource "terraform_data" "x" {}');
      await form.getByRole('button', { name: 'Start run' }).click();
      await expect(form.locator('[data-field=workspace] .field-errors').textContent()).resolves.toContain('lower-case letters');
      await expect(form.locator('[data-field=files] .field-errors').textContent()).resolves.toContain('../escape.sh');
      await expect(form.getByLabel('Workspace').getAttribute('aria-invalid')).resolves.toBe('true');
      expect(page.url()).toMatch(/\/runs\/new$/);
      await shot(page, 'start-form-errors');
    });
  });

  it('survives the WebSocket being cut mid-run: the log ends identical to the stored events', async () => {
    const token = await tokenOf(approver);
    const started = await client(api, token).post('/api/v1/runs', {
      kind: 'terraform',
      team: team.slug,
      params: { workspace: workspace(), files: slowConfig(6, 30), autoApply: true },
    });
    expect(started.status).toBe(201);
    const runId = started.body.id as string;
    await withPage(async (page) => {
      await page.goto(`${proxy.url}/runs/${runId}`);
      await waitForLogLine(page, /progress 5\b/);
      expect(proxy.cutWebSockets()).toBeGreaterThan(0);
      await page.getByTestId('live-state').filter({ hasText: 'Reconnecting' }).waitFor({ timeout: 10_000 });
      await page.getByTestId('live-state').filter({ hasText: 'Live' }).waitFor({ timeout: 30_000 });
      await waitForLogLine(page, /progress 12\b/);
      expect(proxy.cutWebSockets()).toBeGreaterThan(0);
      await page.locator('h1 [data-status=succeeded]').waitFor({ timeout: 90_000 });
      await waitForLogLine(page, /Apply complete!/);
      const lines = await viewerLines(page);
      expect(lines).toEqual(await storedLogLines(token, runId));
      expect(new Set(lines.map((l) => l.seq)).size).toBe(lines.length);
      await page.getByLabel('Theme').selectOption('dark');
      await shot(page, 'run-page-dark');
    });
  });

  it('lets a platform admin create a team, invite a user and set their role; new runs appear in the list live', async () => {
    const admin = await createUser(api.deps.db.em, { role: 'platform-admin' });
    const own = await launchBrowser();
    const slug = `ui-${crypto.randomUUID().slice(0, 6)}`;
    const invited = `invited-${slug}@example.test`;
    try {
      const page = await own.context.newPage();
      await signIn(page, admin);
      await page.getByRole('link', { name: 'Admin' }).click();
      await page.getByLabel('Slug').fill(slug);
      await page.getByLabel('Name', { exact: true }).first().fill(`Team ${slug}`);
      await page.getByRole('button', { name: 'Create team' }).click();
      await page.getByText(`Team ${slug} created.`).waitFor();
      await page.locator('#invite-email').fill(invited);
      await page.locator('#invite-name').fill('Invited Person');
      await page.getByRole('button', { name: 'Create user' }).click();
      await page.getByText(`Created ${invited}`).waitFor();
      await page.locator('#members-team').selectOption(slug);
      await page.getByLabel('Email of an existing user').fill(invited);
      await page.getByLabel('Role', { exact: true }).selectOption('operator');
      await page.getByRole('button', { name: 'Add or update' }).click();
      await page.getByLabel(`Role of ${invited}`, { exact: true }).waitFor();
      const members = await client(api, await tokenOf(admin)).get(`/api/v1/teams/${slug}/members`);
      expect(members.body.items).toEqual([expect.objectContaining({ email: invited, role: 'operator' })]);

      // The runs list is live: a run started elsewhere shows up without a reload.
      await page.getByRole('link', { name: 'Runs', exact: true }).click();
      await page.getByRole('heading', { name: 'Runs' }).waitFor();
      const token = await tokenOf(approver);
      const started = await client(api, token).post('/api/v1/runs', { kind: 'terraform', team: team.slug, params: { workspace: workspace(), files: simpleConfig() } });
      await page.locator(`tr[data-run-id="${started.body.id}"] [data-status=awaiting_approval]`).waitFor({ timeout: 60_000 });
      expect((await client(api, token).post(`/api/v1/runs/${started.body.id}/reject`, { comment: 'test over' })).status).toBe(200);
      // A rejected plan ends discarded (nothing was applied).
      await page.locator(`tr[data-run-id="${started.body.id}"] [data-status=discarded]`).waitFor();
    } finally {
      await own.close();
    }
  });

  it('lands a revoked session on the login page with a message', async () => {
    await withPage(async (page) => {
      await page.goto(`${proxy.url}/`);
      await page.getByRole('heading', { name: 'Runs' }).waitFor();
      await page.locator('tr[data-run-id]').nth(2).waitFor();
      await page.getByLabel('Theme').selectOption('light');
      await shot(page, 'runs-list');
      await page.setViewportSize({ width: 390, height: 844 });
      await shot(page, 'runs-list-phone');
      const access = await page.evaluate(() => JSON.parse(localStorage.getItem('opssight.session')!).accessToken as string);
      expect((await client(api, access).post('/api/v1/auth/logout')).status).toBe(204);
      // The page's socket closes at once (4001: its session ended), and the silent refresh that follows
      // meets the revoked family.
      await expect(page.getByTestId('login-notice').textContent()).resolves.toContain('session has ended');
    });
  });
});
