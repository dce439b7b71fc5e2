import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { AllocateAddressCommand, AssociateAddressCommand, CreateSnapshotCommand, CreateVolumeCommand, DescribeInstancesCommand, DescribeVolumesCommand, EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import type { CostScanSummary } from '../../contracts/kinds/cost-scan.ts';
import { AlertSchema, CostFindingSchema } from '../../db/entities/index.ts';
import { client } from '../fixtures/http.ts';
import { until } from '../fixtures/until.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { startMoto, type Moto } from '../peers/moto.ts';
import { startApi, type TestApi } from '../peers/stack.ts';
import { ownNamespace } from '../peers/temporal.ts';
import { startTestWorker, type TestWorker } from '../peers/worker.ts';
import { HISTORIES_DIR, historyToPlainJson } from '../workflows/record-histories.ts';

// Cost scans through the API against moto's server mode seeded with waste: the real AWS SDK clients
// (EC2, CloudWatch, Cost Explorer) pointed at it, the findings counted into PostgreSQL, a fix run
// through the approval gate, and the next scan verifying the saving.
const region = 'us-east-1';
const keys = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
let moto: Moto;
let api: TestApi;
let worker: TestWorker;
let token: string;
let team: { id: string; slug: string };
let aws: string;
let alertSource: string;
const seeded = { idle: '', busy: '', volume: '', address: '', snapshot: '' };
let ec2: EC2Client;

async function seed() {
  ec2 = new EC2Client({ region, endpoint: moto.url, credentials: { ...keys } });
  const cloudwatch = new CloudWatchClient({ region, endpoint: moto.url, credentials: { ...keys } });
  // One of the AMIs moto ships (listing them all costs moto ~10 s).
  const ami = 'ami-03cf127a';
  const launch = async (name: string) => (await ec2.send(new RunInstancesCommand({
    ImageId: ami, InstanceType: 't3.large', MinCount: 1, MaxCount: 1,
    TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'team', Value: 'web' }, { Key: 'Name', Value: name }] }],
  }))).Instances![0]!.InstanceId!;
  seeded.idle = await launch('idle');
  seeded.busy = await launch('busy');
  seeded.volume = (await ec2.send(new CreateVolumeCommand({ AvailabilityZone: `${region}a`, Size: 100, VolumeType: 'gp3' }))).VolumeId!;
  seeded.address = (await ec2.send(new AllocateAddressCommand({ Domain: 'vpc' }))).AllocationId!;
  const used = (await ec2.send(new AllocateAddressCommand({ Domain: 'vpc' }))).AllocationId!;
  await ec2.send(new AssociateAddressCommand({ AllocationId: used, InstanceId: seeded.busy }));
  seeded.snapshot = (await ec2.send(new CreateSnapshotCommand({ VolumeId: seeded.volume, Description: 'old backup' }))).SnapshotId!;
  // Two days of hourly CPU: the idle instance near 2 %, the busy one near 60 %.
  const now = Date.now();
  for (const [id, level] of [[seeded.idle, 2], [seeded.busy, 60]] as const) {
    const points = Array.from({ length: 48 }, (_, h) => ({ MetricName: 'CPUUtilization', Dimensions: [{ Name: 'InstanceId', Value: id }], Timestamp: new Date(now - h * 3_600_000), Value: level + (h % 3), Unit: 'Percent' as const }));
    for (let i = 0; i < points.length; i += 20) await cloudwatch.send(new PutMetricDataCommand({ Namespace: 'AWS/EC2', MetricData: points.slice(i, i + 20) }));
  }
  const today = new Date().toISOString().slice(0, 10);
  const group = (service: string, team: string, amount: string) => ({ Keys: [service, `team$${team}`], Metrics: { UnblendedCost: { Amount: amount, Unit: 'USD' } } });
  await moto.costAndUsage({
    ResultsByTime: [{ TimePeriod: { Start: today, End: today }, Total: {}, Groups: [group('Amazon Elastic Compute Cloud - Compute', 'web', '120.50'), group('Amazon Simple Storage Service', '', '9.50')], Estimated: true }],
    DimensionValueAttributes: [],
  });
}

beforeAll(async () => {
  moto = await startMoto();
  const isolated = { TEMPORAL_NAMESPACE: await ownNamespace('costs') };
  [api, worker] = await Promise.all([startApi(isolated), startTestWorker(isolated), seed()]).then(([a, w]) => [a, w] as const);
  team = await createTeam(api.deps.db.em);
  const user = await createUser(api.deps.db.em, { teams: [team], role: 'admin' });
  token = (await client(api).post('/api/v1/auth/login', { email: user.email, password: user.password })).body.accessToken;
  const created = await client(api, token).post('/api/v1/integrations', { team: team.slug, type: 'aws', name: 'prod', settings: { regions: [region], endpoint: moto.url }, secrets: keys });
  expect([created.status, created.body.errors]).toEqual([201, undefined]);
  aws = created.body.id;
  alertSource = (await client(api, token).post('/api/v1/integrations', { team: team.slug, type: 'alert-source', name: 'scans', settings: {}, secrets: { token: 'x'.repeat(40) } })).body.id;
}, 120_000);
afterAll(async () => {
  await worker?.shutdown();
  await api?.close();
  await moto?.stop();
});

type RunBody = { id: string; status: string; error: string | null; summary: CostScanSummary };
async function finished(id: string, statuses = ['succeeded', 'failed']): Promise<RunBody> {
  return until(`run ${id} to reach ${statuses.join('/')}`, async () => {
    const r = (await client(api, token).get(`/api/v1/runs/${id}`)).body;
    return statuses.includes(r.status) ? r : undefined;
  }, 60_000);
}
async function scan(params: Record<string, unknown> = {}): Promise<RunBody> {
  const res = await client(api, token).post('/api/v1/runs', { kind: 'cost-scan', team: team.slug, params: { integration: aws, snapshotAgeDays: 0, ...params } });
  expect(res.status).toBe(201);
  return finished(res.body.id);
}
/** RECORD_HISTORIES=1 keeps this run's history for test/workflows/replay.test.ts. */
async function keepHistory(runId: string, file: string) {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const history = await api.deps.temporal.workflow.getHandle(runId).fetchHistory();
  await writeFile(path.join(HISTORIES_DIR, file), JSON.stringify(historyToPlainJson(history), null, 1));
}
const findings = async (status?: string) => (await client(api, token).get(`/api/v1/costs/findings?team=${team.slug}${status ? `&status=${status}` : ''}`)).body.items as Array<{ id: string; type: string; resourceId: string; monthlySavings: number; status: string; realisedMonthlySavings: number | null }>;

describe('cost-scan', () => {
  it('finds exactly the seeded waste with its savings, raises alerts, and a fix verified by the next scan resolves it', async () => {
    // moto cannot date a snapshot back, so "older than 0 days" stands for "older than N".
    const first = await scan({ monthlyBudget: 100, alertSource, alertAboveMonthly: 50 });
    expect(first.status).toBe('succeeded');
    await keepHistory(first.id, 'cost-scan-run.json');
    expect(first.summary.totals).toMatchObject({ currency: 'USD', monthToDate: 130, byService: { 'Amazon Elastic Compute Cloud - Compute': 120.5, 'Amazon Simple Storage Service': 9.5 }, byTeam: { web: 120.5, '(untagged)': 9.5 } });
    expect(first.summary.findings).toEqual({ open: 4, new: 4, resolved: 0, estimatedMonthlySavings: 77.39, realisedMonthlySavings: 0 });
    const open = await findings('open');
    expect(open.map((f) => [f.type, f.resourceId, f.monthlySavings]).sort()).toEqual([
      ['idle-instance', seeded.idle, 60.74], // t3.large 0.0832/h × 730 h
      ['old-snapshot', seeded.snapshot, 5], // 100 GiB × 0.05
      ['unattached-volume', seeded.volume, 8], // 100 GiB gp3 × 0.08
      ['unused-address', seeded.address, 3.65], // 0.005/h × 730 h
    ]);
    // Forecast over the budget, and the one new finding above 50 a month: two alerts through the ingest path.
    const alerts = await api.deps.db.em.fork().find(AlertSchema, { team: team.id }, { orderBy: { dedupKey: 'asc' } });
    expect(alerts.map((a) => a.dedupKey)).toEqual([`cost-budget:${aws}`, `cost-finding:${open.find((f) => f.type === 'idle-instance')!.id}`].sort());

    // The same waste again: nothing new, the same four findings (deduplicated), last-seen moved.
    const again = await scan();
    expect(again.summary.findings).toMatchObject({ open: 4, new: 0, resolved: 0 });

    const idle = open.find((f) => f.type === 'idle-instance')!;
    const fix = await client(api, token).post(`/api/v1/costs/findings/${idle.id}/fix`, {});
    expect(fix.status).toBe(201);
    await finished(fix.body.id, ['awaiting_approval']);
    const state = async () => (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [seeded.idle] }))).Reservations![0]!.Instances![0]!.State!.Name;
    expect(await state()).toBe('running');
    expect((await client(api, token).post(`/api/v1/runs/${fix.body.id}/approve`, { comment: 'idle for days' })).status).toBe(200);
    const fixed = await finished(fix.body.id);
    expect(fixed).toMatchObject({ status: 'succeeded', summary: { action: 'stop-instance', outcome: 'done' } });
    expect(['stopping', 'stopped']).toContain(await state());
    await keepHistory(fix.body.id, 'cost-action-run-approved.json');

    const verify = await scan({ monthlyBudget: 100, alertSource, alertAboveMonthly: 50 });
    expect(verify.summary.findings).toMatchObject({ open: 3, new: 0, resolved: 1, realisedMonthlySavings: 60.74 });
    // The waste is gone, and so is its alert: nobody is paged for it any more.
    const alert = await api.deps.db.em.fork().findOneOrFail(AlertSchema, { team: team.id, dedupKey: `cost-finding:${idle.id}` });
    expect(alert.status).toBe('resolved');
    const row = await api.deps.db.em.fork().findOneOrFail(CostFindingSchema, { id: idle.id });
    expect(row).toMatchObject({ status: 'resolved', realisedMonthlySavings: 60.74, actionRunId: fix.body.id, resolvedRunId: verify.id });
  }, 180_000);

  it('an action naming a finding of another resource fails before acting, and the finding is not marked', async () => {
    await scan();
    const finding = (await findings('open')).find((f) => f.type === 'unattached-volume')!;
    // Another volume than the finding's: the run must not act on it in the finding's name.
    const other = (await ec2.send(new CreateVolumeCommand({ AvailabilityZone: `${region}a`, Size: 10, VolumeType: 'gp3' }))).VolumeId!;
    const res = await client(api, token).post('/api/v1/runs', { kind: 'cost-action', team: team.slug, params: { integration: aws, region, action: 'delete-volume', resourceId: other, finding: finding.id } });
    expect([res.status, res.body.errors]).toEqual([201, undefined]);
    await finished(res.body.id, ['awaiting_approval']);
    expect((await client(api, token).post(`/api/v1/runs/${res.body.id}/approve`, {})).status).toBe(200);
    const run = await finished(res.body.id);
    expect([run.status, run.error]).toEqual(['failed', expect.stringMatching(/^params\.finding: /)]);
    expect((await ec2.send(new DescribeVolumesCommand({ VolumeIds: [other] }))).Volumes![0]!.State).toBe('available');
    const row = await api.deps.db.em.fork().findOneOrFail(CostFindingSchema, { id: finding.id });
    expect(row.actionRunId).not.toBe(res.body.id);
  }, 60_000);

  it('credentials AWS refuses end the run with a clear error', async () => {
    const strict = await startMoto({ auth: true });
    try {
      const bad = await client(api, token).post('/api/v1/integrations', { team: team.slug, type: 'aws', name: 'wrong-keys', settings: { regions: [region], endpoint: strict.url }, secrets: keys });
      const res = await client(api, token).post('/api/v1/runs', { kind: 'cost-scan', team: team.slug, params: { integration: bad.body.id } });
      const run = await finished(res.body.id);
      expect(run.status).toBe('failed');
      expect(run.error).toMatch(/^AWS refused the credentials of integration "wrong-keys" \(\w+\)/);
      expect(run.error).not.toContain(keys.secretAccessKey);
      // Temporal says so too (its UI and metrics), not "completed".
      await expect(api.deps.temporal.workflow.getHandle(res.body.id).result()).rejects.toMatchObject({ cause: { message: expect.stringMatching(/^AWS refused the credentials/) } });
    } finally {
      await strict.stop();
    }
  }, 60_000);

  it('bad input is a 400 naming the field', async () => {
    const scanRes = await client(api, token).post('/api/v1/runs', { kind: 'cost-scan', team: team.slug, params: { integration: aws, idleCpuPercent: 150 } });
    expect(scanRes.status).toBe(400);
    expect(scanRes.body.errors.map((e: { field: string }) => e.field)).toEqual(['params.idleCpuPercent']);
    const action = await client(api, token).post('/api/v1/runs', { kind: 'cost-action', team: team.slug, params: { integration: aws, region, action: 'stop-instance', resourceId: 'vol-0123456789abcdef0' } });
    expect(action.status).toBe(400);
    expect(action.body.errors.map((e: { field: string }) => e.field)).toEqual(['params.resourceId']);
    const integration = await client(api, token).post('/api/v1/integrations', { team: team.slug, type: 'aws', name: 'no-creds', settings: { regions: [region] }, secrets: {} });
    expect(integration.status).toBe(400);
    expect(integration.body.errors.map((e: { field: string }) => e.field)).toEqual(['settings.roleArn']);
  });
});
