import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import type { Page } from 'playwright-core';
import { client } from '../fixtures/http.ts';
import { until } from '../fixtures/until.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { startKubeSim, type KubeSim } from '../peers/kube-sim.ts';
import { startApi, type TestApi } from '../peers/stack.ts';
import { ownNamespace } from '../peers/temporal.ts';
import { startTestWorker, type TestWorker } from '../peers/worker.ts';
import { launchBrowser, signIn, withPage as withPageOf } from './browser.ts';

// A deploy as a person watches it in the dashboard (headless Chromium, the real stack, the Kubernetes
// API simulation): the rollout as a progress bar, an automatic rollback, a manual rollback.
// Needs the built dashboard (npm run build:web).
const dist = path.resolve('web/dist/index.html');
let api: TestApi;
let worker: TestWorker;
let sim: KubeSim;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let team: { id: string; slug: string };
let token: string;
let cluster: string;
const withPage = (fn: (page: Page) => Promise<void>) => withPageOf(browser.context, fn);

beforeAll(async () => {
  if (!fs.existsSync(dist)) throw new Error('web/dist is missing: run `npm run build:web` first');
  sim = await startKubeSim({ tickMs: 300 });
  // Its own namespace: on the shared one, another file's worker (or runs another file left) takes its tasks.
  const namespace = await ownNamespace('deploy-dash');
  api = await startApi({ TEMPORAL_NAMESPACE: namespace, RATE_LIMIT_LOGIN_PER_MINUTE: '1000' });
  worker = await startTestWorker({ TEMPORAL_NAMESPACE: namespace });
  team = await createTeam(api.deps.db.em);
  const admin = await createUser(api.deps.db.em, { teams: [team], role: 'admin' });
  token = (await client(api).post('/api/v1/auth/login', admin)).body.accessToken as string;
  const res = await client(api, token).post('/api/v1/integrations', { team: team.slug, type: 'kubernetes', name: 'sim', settings: { server: sim.url, namespace: 'shop', caCert: sim.caCert }, secrets: { token: sim.token } });
  cluster = res.body.id;
  browser = await launchBrowser();
  await withPage((page) => signIn(page, api.baseUrl, admin));
});
afterAll(async () => {
  await browser?.close();
  await worker?.shutdown();
  await api?.close();
  await sim?.stop();
});

const start = async (name: string, image: string) => {
  const res = await client(api, token).post('/api/v1/runs', {
    kind: 'deploy',
    team: team.slug,
    params: { target: { platform: 'kubernetes', integration: cluster, deployment: name, images: { app: image }, progressDeadlineSeconds: 2 } },
  });
  expect(res.status).toBe(201);
  return res.body.id as string;
};

it('shows the rollout as a progress bar, then a manual rollback as a linked run; and an automatic rollback', async () => {
  const name = `web-${crypto.randomUUID().slice(0, 6)}`;
  sim.addDeployment('shop', name, { images: { app: 'registry.test/web:v1' }, replicas: 6 });
  const runId = await start(name, 'registry.test/web:v2');
  await withPage(async (page) => {
    await page.goto(`${api.baseUrl}/runs/${runId}`);
    const bar = page.getByRole('progressbar', { name: 'Replicas updated' });
    await bar.waitFor();
    // The bar follows the rollout: its value is seen below the total, then at it.
    const seen = new Set<string>();
    await until('the bar to reach 6 of 6', async () => {
      const now = await bar.getAttribute('aria-valuenow');
      if (now) seen.add(now);
      return (await page.getByTestId('rollout-progress').textContent())?.includes('6/6 updated, 6 ready, 6 available') ? true : undefined;
    }, 30_000, 20);
    expect(seen.size).toBeGreaterThan(1);
    await page.locator('h1 [data-status=succeeded]').waitFor();
    // The row (and its summary) is fetched again after the status event.
    await page.getByTestId('deploy-live').filter({ hasText: /^registry\.test\/web:v2$/ }).waitFor();

    await page.getByRole('button', { name: 'Roll back to registry.test/web:v1' }).click();
    await page.waitForURL((url) => url.pathname.startsWith('/runs/') && !url.pathname.endsWith(runId));
    await page.getByText(`Rolls back run ${runId.slice(0, 8)}`).waitFor();
    await page.locator('h1 [data-status=succeeded]').waitFor({ timeout: 30_000 });
    await page.getByTestId('deploy-live').filter({ hasText: /^registry\.test\/web:v1$/ }).waitFor();
    const rollbackId = new URL(page.url()).pathname.split('/').pop()!;

    // The original's page links the rollback too, and the target's history says what is live and what was before.
    await page.goto(`${api.baseUrl}/runs/${runId}`);
    await page.getByTestId('deploy-rolled-back-by').getByRole('link', { name: `run ${rollbackId.slice(0, 8)}` }).waitFor();
    await page.getByRole('link', { name: 'History of this target' }).click();
    await page.waitForURL((url) => url.pathname === '/deploys');
    await page.getByTestId('history-live').filter({ hasText: `Live now: registry.test/web:v1 (since run ${rollbackId.slice(0, 8)})` }).waitFor();
    const rows = page.getByTestId('deploy-history').locator('tbody tr');
    expect(await rows.evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].slice(1, 4).map((td) => td.textContent)))).toEqual([
      [rollbackId.slice(0, 8), 'registry.test/web:v2', 'registry.test/web:v1'],
      [runId.slice(0, 8), 'registry.test/web:v1', 'registry.test/web:v2'],
    ]);
    await rows.first().getByText(`rolls back run ${runId.slice(0, 8)}`).waitFor();
  });

  const bad = `web-${crypto.randomUUID().slice(0, 6)}`;
  sim.addDeployment('shop', bad, { images: { app: 'registry.test/web:v1' }, replicas: 3 });
  const failing = await start(bad, 'registry.test/web:bad');
  await withPage(async (page) => {
    await page.goto(`${api.baseUrl}/runs/${failing}`);
    await page.locator('h1 [data-status=failed]').waitFor({ timeout: 30_000 });
    const notice = page.getByTestId('deploy-rolled-back');
    await notice.waitFor();
    expect(await notice.textContent()).toMatch(/^Rolled back automatically to registry\.test\/web:v1: rollout of shop\/web-\w+ made no progress within its deadline \(ProgressDeadlineExceeded\)/);
    expect(await page.getByRole('button', { name: /^Roll back/ }).count()).toBe(0);
  });
});
