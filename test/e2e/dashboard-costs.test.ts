import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { AllocateAddressCommand, CreateVolumeCommand, EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { client } from '../fixtures/http.ts';
import { until } from '../fixtures/until.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { startMoto, type Moto } from '../peers/moto.ts';
import { startApi, type TestApi } from '../peers/stack.ts';
import { ownNamespace } from '../peers/temporal.ts';
import { startTestWorker, type TestWorker } from '../peers/worker.ts';
import { inOwnBrowser, screenshot, signIn, waitForCount } from './browser.ts';

// The Costs page in headless Chromium after real cost scans against moto (the AWS SDK clients pointed
// at its server mode): each account's totals, the daily spend and per-scan trend charts, the open
// findings with their savings, and "Fix", which starts the cost-action run that then waits for an approver.
// Needs the built dashboard (npm run build:web).
const dist = path.resolve('web/dist/index.html');
const region = 'us-east-1';
const keys = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
let moto: Moto;
let api: TestApi;
let worker: TestWorker;
let admin: { email: string; password: string };
let token: string;
let team: { id: string; slug: string };
let aws: string;
const seeded = { idle: '', volume: '', address: '' };

async function seed() {
  const ec2 = new EC2Client({ region, endpoint: moto.url, credentials: { ...keys } });
  const cloudwatch = new CloudWatchClient({ region, endpoint: moto.url, credentials: { ...keys } });
  seeded.idle = (await ec2.send(new RunInstancesCommand({ ImageId: 'ami-03cf127a', InstanceType: 't3.large', MinCount: 1, MaxCount: 1 }))).Instances![0]!.InstanceId!;
  seeded.volume = (await ec2.send(new CreateVolumeCommand({ AvailabilityZone: `${region}a`, Size: 100, VolumeType: 'gp3' }))).VolumeId!;
  seeded.address = (await ec2.send(new AllocateAddressCommand({ Domain: 'vpc' }))).AllocationId!;
  const now = Date.now();
  const points = Array.from({ length: 20 }, (_, h) => ({ MetricName: 'CPUUtilization', Dimensions: [{ Name: 'InstanceId', Value: seeded.idle }], Timestamp: new Date(now - h * 3_600_000), Value: 2, Unit: 'Percent' as const }));
  await cloudwatch.send(new PutMetricDataCommand({ Namespace: 'AWS/EC2', MetricData: points }));
  ec2.destroy();
  cloudwatch.destroy();
  // Three days of spend: 40 + 50 + 60 on compute, 10 a day untagged on S3.
  const day = (ago: number) => new Date(now - ago * 86_400_000).toISOString().slice(0, 10);
  const group = (service: string, owner: string, amount: string) => ({ Keys: [service, `team$${owner}`], Metrics: { UnblendedCost: { Amount: amount, Unit: 'USD' } } });
  await moto.costAndUsage({
    ResultsByTime: [2, 1, 0].map((ago, i) => ({
      TimePeriod: { Start: day(ago), End: day(ago - 1) },
      Total: {},
      Groups: [group('Amazon Elastic Compute Cloud - Compute', 'web', String(40 + 10 * i)), group('Amazon Simple Storage Service', '', '10')],
      Estimated: true,
    })),
    DimensionValueAttributes: [],
  });
}

beforeAll(async () => {
  if (!fs.existsSync(dist)) throw new Error('web/dist is missing: run `npm run build:web` first');
  moto = await startMoto();
  const isolated = { TEMPORAL_NAMESPACE: await ownNamespace('dash-costs') };
  [api, worker] = await Promise.all([startApi(isolated), startTestWorker(isolated), seed()]).then(([a, w]) => [a, w] as const);
  team = await createTeam(api.deps.db.em);
  admin = await createUser(api.deps.db.em, { teams: [team], role: 'admin' });
  token = (await client(api).post('/api/v1/auth/login', admin)).body.accessToken;
  const created = await client(api, token).post('/api/v1/integrations', { team: team.slug, type: 'aws', name: 'prod', settings: { regions: [region], endpoint: moto.url }, secrets: keys });
  expect(created.status).toBe(201);
  aws = created.body.id;
  // A second account (the same moto: the same spend and waste), so the per-scan trend must add accounts up.
  const staging = await client(api, token).post('/api/v1/integrations', { team: team.slug, type: 'aws', name: 'staging', settings: { regions: [region], endpoint: moto.url }, secrets: keys });
  expect(staging.status).toBe(201);
  // Two scans of prod, then one of staging: the per-scan trend has a line to draw.
  for (const integration of [aws, aws, staging.body.id as string]) {
    const res = await client(api, token).post('/api/v1/runs', { kind: 'cost-scan', team: team.slug, params: { integration, monthlyBudget: 100 } });
    expect(res.status).toBe(201);
    const run = await until(`scan ${res.body.id} to end`, async () => {
      const r = (await client(api, token).get(`/api/v1/runs/${res.body.id}`)).body;
      return ['succeeded', 'failed'].includes(r.status) ? r : undefined;
    }, 60_000);
    expect([run.status, run.error]).toEqual(['succeeded', null]);
  }
}, 120_000);
afterAll(async () => {
  await worker?.shutdown();
  await api?.close();
  await moto?.stop();
});

describe('Costs page', () => {
  it('shows the totals, both trend charts and the findings with savings; "Fix" starts the action, which awaits approval', async () => {
    await inOwnBrowser(async (page) => {
      await signIn(page, api.baseUrl, admin);
      await page.getByRole('link', { name: 'Costs' }).click();
      await page.getByRole('heading', { name: 'Costs' }).waitFor();

      await expect(page.getByTestId('cost-account').getByRole('heading').allTextContents()).resolves.toEqual(['prod', 'staging']);
      const account = page.getByTestId('cost-account').filter({ has: page.getByRole('heading', { name: 'prod' }) });
      // 180 month to date over 3 days of data; the forecast is the daily rate over the month, above the 100 budget.
      await expect(account.textContent()).resolves.toMatch(/Month to date \$180\.00, forecast \$[\d,]+\.\d\d of a \$100\.00 budget/);
      await expect(account.locator('.error').count()).resolves.toBe(1);
      await expect(account.textContent()).resolves.toContain('3 open finding(s), about $72.39 a month to save');

      // uPlot draws into a canvas: one chart per trend, each with its series in the legend.
      const daily = page.getByRole('img', { name: 'Daily spend' });
      await daily.locator('canvas').waitFor();
      await expect(daily.locator('.u-legend .u-series').count()).resolves.toBe(2);
      const perScan = page.getByRole('img', { name: 'Month to date, forecast and savings at each scan (all accounts)' });
      await perScan.locator('canvas').waitFor();
      await expect(perScan.locator('.u-legend .u-series').allTextContents()).resolves.toEqual([expect.any(String), expect.stringContaining('month to date'), expect.stringContaining('forecast'), expect.stringContaining('savings to make')]);
      // At the last scan (staging's) the lines hold both accounts: 180 + 180 month to date, not staging's 180 alone.
      const plot = await perScan.locator('.u-over').boundingBox();
      await page.mouse.move(plot!.x + plot!.width - 1, plot!.y + plot!.height / 2);
      await expect(perScan.locator('.u-legend .u-series').nth(1).locator('.u-value').textContent()).resolves.toBe('360');
      await expect(page.locator('.cost-breakdowns caption').allTextContents()).resolves.toEqual(['By service', 'By team tag', 'By account']);
      await expect(page.locator('.cost-breakdowns').textContent()).resolves.toContain('Amazon Elastic Compute Cloud - Compute$300.00');

      const findings = page.getByTestId('cost-findings');
      await waitForCount(page, '[data-testid=cost-findings] tbody tr', 6);
      const rows = await findings.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [tr.querySelector('code')?.textContent, tr.querySelectorAll('td')[2]?.textContent, tr.querySelector('td.num')?.textContent]));
      const each = [[seeded.address, '$3.65'], [seeded.idle, '$60.74'], [seeded.volume, '$8.00']] as const;
      expect(rows.sort()).toEqual(['prod', 'staging'].flatMap((name) => each.map(([id, saving]) => [id, `${name} / ${region}`, saving])).sort());
      await screenshot(page, 'costs');

      const idleOf = (name: string) => page.getByTestId('cost-findings').locator('tbody tr').filter({ hasText: seeded.idle }).filter({ hasText: `${name} / ` });
      const idle = idleOf('prod');
      page.once('dialog', (d) => void d.accept());
      await idle.getByRole('button', { name: 'Fix' }).click();
      await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);
      const runId = page.url().split('/').pop()!;
      await page.locator('[data-status=awaiting_approval]').first().waitFor({ timeout: 60_000 });
      const run = (await client(api, token).get(`/api/v1/runs/${runId}`)).body;
      expect(run).toMatchObject({ kind: 'cost-action', status: 'awaiting_approval', params: { integration: aws, region, action: 'stop-instance', resourceId: seeded.idle } });

      // Back on the page the finding links its action run, and offers no second fix while that run waits.
      await page.goBack();
      const again = idleOf('prod');
      await again.getByRole('link', { name: 'action run' }).waitFor();
      await expect(again.getByRole('link', { name: 'action run' }).getAttribute('href')).resolves.toBe(`/runs/${runId}`);
      await expect(again.locator('[data-status=awaiting_approval]').count()).resolves.toBe(1);
      await expect(again.getByRole('button', { name: 'Fix' }).count()).resolves.toBe(0);
      // The same instance seen through the other account is its own finding, still fixable.
      await expect(idleOf('staging').getByRole('button', { name: 'Fix' }).count()).resolves.toBe(1);
    });
  }, 120_000);
});
