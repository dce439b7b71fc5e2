import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { CostScanSummary } from '../../contracts/kinds/cost-scan.ts';
import { CostFindingSchema } from '../../db/entities/index.ts';
import { client } from '../fixtures/http.ts';
import { until } from '../fixtures/until.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { startAzurePeer, type AzurePeer } from '../peers/azure.ts';
import { startGcpPeer, type GcpPeer } from '../peers/gcp.ts';
import { startApi, type TestApi } from '../peers/stack.ts';
import { ownNamespace } from '../peers/temporal.ts';
import { startTestWorker, type TestWorker } from '../peers/worker.ts';

// Cost scans and actions on Azure and Google Cloud through the API and a real worker, against local
// peers of their documented REST APIs (test/peers/azure.ts, gcp.ts) seeded with known waste: each scan
// finds exactly that waste, priced; each fix passes the approval gate and changes the cloud once; the
// next scan resolves the findings and records the savings.
const DAY_MS = 86_400_000;
const now = new Date();
const yyyymmdd = (d: Date) => Number(d.toISOString().slice(0, 10).replaceAll('-', ''));
const monthDay = (day: number) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), day));
const daysInMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 0)).getUTCDate();

const tenantId = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const subscription = '3f1c2a9e-5b7d-4e11-9c0a-6d2b8e4f7a10';
const azureCreds = { clientId: '0c5e8d2a-1b3f-4a6c-9e7d-2f8a1b3c4d5e', clientSecret: 'Qx8~correct-horse-battery-staple.0' };

const gcpProject = 'acme-prod';
const billingTable = 'acme-billing.billing_export.gcp_billing_export_v1_0A1B2C_3D4E5F_6A7B8C';
const serviceAccount = `cost-scanner@${gcpProject}.iam.gserviceaccount.com`;
const keyPair = () => generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
const keys = keyPair();
const keyFile = (tokenUri: string, privateKey = keys.privateKey) =>
  JSON.stringify({ type: 'service_account', project_id: gcpProject, private_key_id: 'a1b2c3', private_key: privateKey, client_email: serviceAccount, client_id: '1234567890', token_uri: tokenUri });

let azure: AzurePeer;
let gcp: GcpPeer;
let api: TestApi;
let worker: TestWorker;
let token: string;
let team: { id: string; slug: string };
let azureId: string;
let gcpId: string;

async function startPeers() {
  azure = await startAzurePeer({
    tenantId, subscription, ...azureCreds, currency: 'EUR', forecastPerDay: 5.5,
    vms: [
      { rg: 'rg-web', name: 'vm-idle', location: 'westeurope', size: 'Standard_D2s_v3', power: 'running', cpu: 2, tags: { team: 'web' } },
      { rg: 'rg-web', name: 'vm-busy', location: 'westeurope', size: 'Standard_D2s_v3', power: 'running', cpu: 60, tags: { team: 'web' } },
      { rg: 'rg-web', name: 'vm-halted', location: 'westeurope', size: 'Standard_B2s', power: 'stopped', tags: { team: 'data' } },
      { rg: 'rg-web', name: 'vm-off', location: 'westeurope', size: 'Standard_D4s_v5', power: 'deallocated' },
      { rg: 'rg-web', name: 'vm-new', location: 'westeurope', size: 'Standard_D4s_v5', power: 'running' }, // no metrics yet: not judged
      { rg: 'rg-us', name: 'vm-elsewhere', location: 'eastus', size: 'Standard_D2s_v3', power: 'running', cpu: 1 }, // a location not scanned
    ],
    disks: [
      { rg: 'rg-web', name: 'disk-orphan', location: 'westeurope', sku: 'Premium_LRS', sizeGb: 128, state: 'Unattached', tags: { team: 'web' } },
      { rg: 'rg-web', name: 'vm-busy-os', location: 'westeurope', sku: 'Premium_LRS', sizeGb: 64, state: 'Attached' },
    ],
    publicIps: [
      { rg: 'rg-web', name: 'pip-spare', location: 'westeurope', sku: 'Standard', method: 'Static', ip: '20.61.12.7' },
      { rg: 'rg-web', name: 'pip-used', location: 'westeurope', sku: 'Standard', method: 'Static', ip: '20.61.12.8', nic: `/subscriptions/${subscription}/resourceGroups/rg-web/providers/Microsoft.Network/networkInterfaces/vm-busy-nic` },
      { rg: 'rg-web', name: 'pip-basic-dynamic', location: 'westeurope', sku: 'Basic', method: 'Dynamic' }, // holds no address: free
    ],
    snapshots: [
      { rg: 'rg-web', name: 'snap-2025', location: 'westeurope', sizeGb: 128, created: new Date(now.getTime() - 200 * DAY_MS) },
      { rg: 'rg-web', name: 'snap-recent', location: 'westeurope', sizeGb: 128, created: new Date(now.getTime() - 10 * DAY_MS) },
    ],
    costRows: [
      [100.25, yyyymmdd(monthDay(1)), 'Virtual Machines', 'team', 'web', 'EUR'],
      [20.75, yyyymmdd(monthDay(now.getUTCDate())), 'Storage', '', '', 'EUR'],
      [4.0, yyyymmdd(monthDay(1)), 'Virtual Network', 'owner', 'ops', 'EUR'], // another tag: untagged for `team`
    ],
  });
  gcp = await startGcpPeer({
    project: gcpProject, clientEmail: serviceAccount, publicKeyPem: keys.publicKey, billingTable,
    instances: [
      { zone: 'europe-west1-b', name: 'idle-1', machineType: 'e2-standard-4', status: 'RUNNING', cpu: 0.02, labels: { team: 'web' } },
      { zone: 'europe-west1-b', name: 'busy-1', machineType: 'e2-standard-4', status: 'RUNNING', cpu: 0.55 },
      { zone: 'europe-west1-c', name: 'fresh-1', machineType: 'n2-standard-2', status: 'RUNNING' }, // no metrics: not judged
      { zone: 'europe-west1-c', name: 'stopped-1', machineType: 'n2-standard-2', status: 'TERMINATED', cpu: 0 },
      { zone: 'us-central1-a', name: 'idle-elsewhere', machineType: 'e2-standard-4', status: 'RUNNING', cpu: 0.01 }, // a region not scanned
    ],
    disks: [
      { zone: 'europe-west1-b', name: 'orphan-data', type: 'pd-ssd', sizeGb: 200, labels: { team: 'data' } },
      { zone: 'europe-west1-b', name: 'busy-1', type: 'pd-balanced', sizeGb: 20, users: [`projects/${gcpProject}/zones/europe-west1-b/instances/busy-1`] },
    ],
    addresses: [
      { scope: 'regions/europe-west1', name: 'spare-ip', address: '34.76.10.1', status: 'RESERVED' },
      { scope: 'regions/europe-west1', name: 'busy-ip', address: '34.76.10.2', status: 'IN_USE', users: [`projects/${gcpProject}/zones/europe-west1-b/instances/busy-1`] },
      { scope: 'regions/europe-west1', name: 'internal-ip', address: '10.132.0.9', status: 'RESERVED', addressType: 'INTERNAL' },
      { scope: 'global', name: 'spare-global', address: '34.120.1.1', status: 'RESERVED' },
    ],
    snapshots: [
      { name: 'nightly-2025', storageBytes: 50 * 1024 ** 3, diskSizeGb: 200, created: new Date(now.getTime() - 120 * DAY_MS) },
      { name: 'nightly-recent', storageBytes: 50 * 1024 ** 3, diskSizeGb: 200, created: new Date(now.getTime() - 5 * DAY_MS) },
    ],
    billingRows: [
      ['Compute Engine', 'web', monthDay(1).toISOString().slice(0, 10), 'USD', 80.4],
      ['Cloud Storage', '', monthDay(now.getUTCDate()).toISOString().slice(0, 10), 'USD', 19.6],
      ['Compute Engine', 'web', new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 15)).toISOString().slice(0, 10), 'USD', 500], // last month
    ],
  });
}

const azureSettings = () => ({ tenantId, clientId: azureCreds.clientId, subscriptions: [subscription], locations: ['westeurope'], resourceManagerUrl: azure.url, authorityHost: azure.url });
const gcpSettings = () => ({ projects: [gcpProject], regions: ['europe-west1'], billingTable, computeUrl: gcp.url, monitoringUrl: gcp.url, bigqueryUrl: gcp.url });

beforeAll(async () => {
  const isolated = { TEMPORAL_NAMESPACE: await ownNamespace('costs-clouds') };
  [api, worker] = await Promise.all([startApi(isolated), startTestWorker(isolated), startPeers()]).then(([a, w]) => [a, w] as const);
  team = await createTeam(api.deps.db.em);
  const user = await createUser(api.deps.db.em, { teams: [team], role: 'admin' });
  token = (await client(api).post('/api/v1/auth/login', { email: user.email, password: user.password })).body.accessToken;
  const a = await client(api, token).post('/api/v1/integrations', { team: team.slug, type: 'azure', name: 'azure-prod', settings: azureSettings(), secrets: { clientSecret: azureCreds.clientSecret } });
  expect([a.status, a.body.errors]).toEqual([201, undefined]);
  azureId = a.body.id;
  const g = await client(api, token).post('/api/v1/integrations', { team: team.slug, type: 'gcp', name: 'gcp-prod', settings: gcpSettings(), secrets: { serviceAccountKey: keyFile(`${gcp.url}/token`) } });
  expect([g.status, g.body.errors]).toEqual([201, undefined]);
  gcpId = g.body.id;
}, 120_000);
afterAll(async () => {
  await worker?.shutdown();
  await api?.close();
  await azure?.close();
  await gcp?.close();
});

type RunBody = { id: string; status: string; error: string | null; target: string; summary: CostScanSummary & { action?: string; outcome?: string } };
async function finished(id: string, statuses = ['succeeded', 'failed']): Promise<RunBody> {
  return until(`run ${id} to reach ${statuses.join('/')}`, async () => {
    const r = (await client(api, token).get(`/api/v1/runs/${id}`)).body;
    return statuses.includes(r.status) ? r : undefined;
  }, 60_000);
}
async function scan(integration: string, params: Record<string, unknown> = {}): Promise<RunBody> {
  const res = await client(api, token).post('/api/v1/runs', { kind: 'cost-scan', team: team.slug, params: { integration, ...params } });
  expect([res.status, res.body.errors]).toEqual([201, undefined]);
  return finished(res.body.id);
}
type FindingBody = { id: string; type: string; region: string; resourceId: string; monthlySavings: number; owner: string | null; fixable: boolean };
const openFindings = async (integration: string) =>
  ((await client(api, token).get(`/api/v1/costs/findings?team=${team.slug}&integration=${integration}&status=open`)).body.items as FindingBody[]);

/** Fixes each finding through its cost-action run: nothing changes before the approval, then the run succeeds. */
async function fixAll(findings: FindingBody[], changes: () => number): Promise<RunBody[]> {
  const runs = [];
  for (const f of findings) {
    const fix = await client(api, token).post(`/api/v1/costs/findings/${f.id}/fix`, {});
    expect(fix.status).toBe(201);
    runs.push(fix.body.id as string);
  }
  await Promise.all(runs.map((id) => finished(id, ['awaiting_approval'])));
  expect(changes()).toBe(0);
  for (const id of runs) expect((await client(api, token).post(`/api/v1/runs/${id}/approve`, { comment: 'waste' })).status).toBe(200);
  return Promise.all(runs.map((id) => finished(id)));
}
/** A second action on a resource already fixed: it reads the resource's state and changes nothing. */
async function actAgain(integration: string, f: FindingBody, action: string): Promise<RunBody> {
  const res = await client(api, token).post('/api/v1/runs', { kind: 'cost-action', team: team.slug, params: { integration, region: f.region, action, resourceId: f.resourceId } });
  expect([res.status, res.body.errors]).toEqual([201, undefined]);
  await finished(res.body.id, ['awaiting_approval']);
  expect((await client(api, token).post(`/api/v1/runs/${res.body.id}/approve`, {})).status).toBe(200);
  return finished(res.body.id);
}

describe('cost-scan on Azure', () => {
  it('finds exactly the seeded waste with its savings, and fixes verified by the next scan resolve it', async () => {
    const first = await scan(azureId, { monthlyBudget: 100 });
    expect([first.status, first.error, first.target]).toEqual(['succeeded', null, `cloud:${azureId}`]);
    expect(first.summary.totals).toEqual({
      currency: 'EUR', monthToDate: 125, budget: 100, forecast: Math.round((125 + 5.5 * (daysInMonth - now.getUTCDate())) * 100) / 100,
      byService: { 'Virtual Machines': 100.25, Storage: 20.75, 'Virtual Network': 4 },
      byTeam: { web: 100.25, '(untagged)': 24.75 },
      byDay: now.getUTCDate() === 1 ? { [monthDay(1).toISOString().slice(0, 10)]: 125 } : { [monthDay(1).toISOString().slice(0, 10)]: 104.25, [monthDay(now.getUTCDate()).toISOString().slice(0, 10)]: 20.75 },
    });
    const open = await openFindings(azureId);
    expect(open.map((f) => [f.type, f.resourceId, f.monthlySavings, f.region, f.owner]).sort()).toEqual([
      ['idle-instance', azure.idOf('rg-web', 'virtualMachines', 'vm-halted'), 30.37, 'westeurope', 'data'], // stopped, not deallocated: B2s 0.0416/h × 730
      ['idle-instance', azure.idOf('rg-web', 'virtualMachines', 'vm-idle'), 70.08, 'westeurope', 'web'], // D2s_v3 0.096/h × 730
      ['old-snapshot', azure.idOf('rg-web', 'snapshots', 'snap-2025'), 6.4, 'westeurope', null], // 128 GiB × 0.05
      ['unattached-volume', azure.idOf('rg-web', 'disks', 'disk-orphan'), 19.2, 'westeurope', 'web'], // 128 GiB Premium_LRS × 0.15
      ['unused-address', azure.idOf('rg-web', 'publicIPAddresses', 'pip-spare'), 3.65, 'westeurope', null], // 0.005/h × 730
    ]);
    expect(first.summary.findings).toEqual({ open: 5, new: 5, resolved: 0, estimatedMonthlySavings: 129.7, realisedMonthlySavings: 0 });

    const fixable = open.filter((f) => f.fixable && f.resourceId !== azure.idOf('rg-web', 'virtualMachines', 'vm-halted'));
    const changes = () => azure.calls.deallocate.length + azure.calls.diskDelete.length + azure.calls.publicIpDelete.length + azure.calls.snapshotPut.length;
    // The disk's delete is carried out but its answer lost: the retried attempt finds the disk gone and its snapshot kept.
    azure.loseNextReply('diskDelete');
    const fixed = await fixAll(fixable, changes);
    expect(azure.calls.lostReplies).toBe(1);
    expect(fixed.map((r) => [r.status, r.summary.outcome])).toEqual(fixable.map(() => ['succeeded', 'done']));
    expect(azure.calls.deallocate).toEqual([azure.idOf('rg-web', 'virtualMachines', 'vm-idle')]);
    expect(azure.calls.diskDelete).toEqual([azure.idOf('rg-web', 'disks', 'disk-orphan')]);
    expect(azure.calls.publicIpDelete).toEqual([azure.idOf('rg-web', 'publicIPAddresses', 'pip-spare')]);
    const diskRun = fixed[fixable.findIndex((f) => f.type === 'unattached-volume')]!;
    expect(azure.calls.snapshotPut).toEqual([azure.idOf('rg-web', 'snapshots', `opssight-${diskRun.id}`)]);
    expect([azure.vm('vm-idle')?.power, azure.disk('disk-orphan'), azure.publicIp('pip-spare'), azure.snapshot(`opssight-${diskRun.id}`)?.tags]).toEqual(['deallocated', undefined, undefined, { 'opssight-run-id': diskRun.id }]);

    // Done already: the action reads the VM's power state and deallocates nothing a second time.
    const again = await actAgain(azureId, fixable.find((f) => f.type === 'idle-instance')!, 'stop-instance');
    expect([again.status, again.summary.outcome]).toEqual(['succeeded', 'already']);
    expect(azure.calls.deallocate).toHaveLength(1);

    const verify = await scan(azureId);
    expect(verify.summary.findings).toMatchObject({ resolved: 3, realisedMonthlySavings: 92.93 });
    // The new snapshot the fix kept is recent: not a finding; the stopped VM and the old snapshot stay open.
    expect((await openFindings(azureId)).map((f) => f.resourceId).sort()).toEqual([azure.idOf('rg-web', 'virtualMachines', 'vm-halted'), azure.idOf('rg-web', 'snapshots', 'snap-2025')].sort());
    const row = await api.deps.db.em.fork().findOneOrFail(CostFindingSchema, { id: fixable.find((f) => f.type === 'idle-instance')!.id });
    expect(row).toMatchObject({ status: 'resolved', realisedMonthlySavings: 70.08, resolvedRunId: verify.id });
  }, 180_000);

  it('a client secret Entra ID refuses ends the run with a clear error, the secret in no message', async () => {
    const wrong = 'Qx8~not-the-secret-at-all.1';
    const bad = await client(api, token).post('/api/v1/integrations', { team: team.slug, type: 'azure', name: 'azure-wrong', settings: azureSettings(), secrets: { clientSecret: wrong } });
    expect(bad.status).toBe(201);
    const run = await scan(bad.body.id);
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/^Azure refused the credentials of integration "azure-wrong" \(invalid_client\): AADSTS7000215/);
    expect(JSON.stringify(await client(api, token).get(`/api/v1/runs/${run.id}/events`))).not.toContain(wrong);
  }, 60_000);
});

describe('cost-scan on Google Cloud', () => {
  it('finds exactly the seeded waste with its savings, and fixes verified by the next scan resolve it', async () => {
    const first = await scan(gcpId, { snapshotAgeDays: 90 });
    expect([first.status, first.error, first.target]).toEqual(['succeeded', null, `cloud:${gcpId}`]);
    expect(first.summary.totals).toMatchObject({ currency: 'USD', monthToDate: 100, forecast: Math.round((100 / now.getUTCDate()) * daysInMonth * 100) / 100, byService: { 'Compute Engine': 80.4, 'Cloud Storage': 19.6 }, byTeam: { web: 80.4, '(untagged)': 19.6 } });
    const month = `${now.getUTCFullYear()}${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
    expect(gcp.calls.queries.at(-1)!.parameters).toEqual({ tag: 'team', month, projects: [gcpProject] });
    const open = await openFindings(gcpId);
    expect(open.map((f) => [f.type, f.resourceId, f.monthlySavings, f.region]).sort()).toEqual([
      ['idle-instance', `projects/${gcpProject}/zones/europe-west1-b/instances/idle-1`, 97.82, 'europe-west1'], // e2-standard-4 0.134/h × 730
      ['old-snapshot', `projects/${gcpProject}/global/snapshots/nightly-2025`, 2.5, 'global'], // 50 GB stored × 0.05
      ['unattached-volume', `projects/${gcpProject}/zones/europe-west1-b/disks/orphan-data`, 34, 'europe-west1'], // 200 GB pd-ssd × 0.17
      ['unused-address', `projects/${gcpProject}/global/addresses/spare-global`, 7.3, 'global'], // 0.01/h × 730
      ['unused-address', `projects/${gcpProject}/regions/europe-west1/addresses/spare-ip`, 7.3, 'europe-west1'],
    ]);
    expect(first.summary.findings).toEqual({ open: 5, new: 5, resolved: 0, estimatedMonthlySavings: 148.92, realisedMonthlySavings: 0 });

    const fixable = open.filter((f) => f.fixable);
    const changes = () => gcp.calls.stop.length + gcp.calls.diskDelete.length + gcp.calls.addressDelete.length + gcp.calls.createSnapshot.length;
    // The snapshot is taken but its answer lost: the retried attempt asks for the same name, is told it
    // exists (409), and goes on to the delete; and a stop whose answer is lost is found stopped.
    gcp.loseNextReply('createSnapshot');
    gcp.loseNextReply('stop');
    const fixed = await fixAll(fixable, changes);
    expect(gcp.calls.lostReplies).toBe(2);
    // The stop's retry finds the instance stopped: `already`, from where the retry stands.
    expect(fixed.map((r) => [r.status, r.summary.outcome])).toEqual(fixable.map((f) => ['succeeded', f.type === 'idle-instance' ? 'already' : 'done']));
    expect(gcp.calls.stop).toEqual([`projects/${gcpProject}/zones/europe-west1-b/instances/idle-1`]);
    expect(gcp.calls.diskDelete).toEqual([`projects/${gcpProject}/zones/europe-west1-b/disks/orphan-data`]);
    expect(gcp.calls.addressDelete.sort()).toEqual([`projects/${gcpProject}/global/addresses/spare-global`, `projects/${gcpProject}/regions/europe-west1/addresses/spare-ip`]);
    expect(gcp.calls.createSnapshot).toHaveLength(1);
    const diskRun = fixed[fixable.findIndex((f) => f.type === 'unattached-volume')]! as RunBody & { summary: { snapshotId?: string } };
    // The second attempt (after the lost reply) found the snapshot still being taken and waited for it,
    // instead of failing on it: a snapshot that outlasts the retries would fail the run.
    const history = await api.deps.temporal.workflow.getHandle(diskRun.id).fetchHistory();
    const started = history.events!.flatMap((e) => (e.activityTaskStartedEventAttributes ? [e.activityTaskStartedEventAttributes.attempt] : []));
    expect(started.at(-1)).toBe(2);
    expect(gcp.snapshot(gcp.calls.createSnapshot[0]!)).toMatchObject({ status: 'READY', labels: { 'opssight-run-id': diskRun.id } });
    expect(diskRun.summary.snapshotId).toBe(gcp.calls.createSnapshot[0]);
    expect([gcp.instance('idle-1')?.status, gcp.disk('orphan-data'), gcp.address('spare-ip'), gcp.address('spare-global')]).toEqual(['TERMINATED', undefined, undefined, undefined]);

    const again = await actAgain(gcpId, fixable.find((f) => f.type === 'unattached-volume')!, 'delete-volume');
    expect([again.status, again.summary.outcome]).toEqual(['succeeded', 'already']);
    expect([gcp.calls.diskDelete, gcp.calls.createSnapshot]).toEqual([[`projects/${gcpProject}/zones/europe-west1-b/disks/orphan-data`], [diskRun.summary.snapshotId]]);

    const verify = await scan(gcpId, { snapshotAgeDays: 90 });
    expect(verify.summary.findings).toMatchObject({ open: 1, new: 0, resolved: 4, realisedMonthlySavings: 146.42 });
    expect((await openFindings(gcpId)).map((f) => f.resourceId)).toEqual([`projects/${gcpProject}/global/snapshots/nightly-2025`]);
  }, 180_000);

  it('findings in a zone aggregatedList could not reach stay open (not resolved, not reopened) until a scan reads it', async () => {
    // A peer of its own: the shared one's findings are fixed and resolved by the test above.
    const peer = await startGcpPeer({
      project: gcpProject, clientEmail: serviceAccount, publicKeyPem: keys.publicKey, billingTable, instances: [], addresses: [], snapshots: [], billingRows: [],
      disks: [{ zone: 'europe-west1-b', name: 'orphan-b', type: 'pd-standard', sizeGb: 100 }, { zone: 'europe-west1-c', name: 'orphan-c', type: 'pd-standard', sizeGb: 100 }],
    });
    try {
      const settings = { ...gcpSettings(), computeUrl: peer.url, monitoringUrl: peer.url, bigqueryUrl: peer.url };
      const created = await client(api, token).post('/api/v1/integrations', { team: team.slug, type: 'gcp', name: 'gcp-partial', settings, secrets: { serviceAccountKey: keyFile(`${peer.url}/token`) } });
      expect([created.status, created.body.errors]).toEqual([201, undefined]);
      const id = created.body.id as string;
      expect((await scan(id)).summary.findings).toMatchObject({ open: 2, new: 2, resolved: 0 });
      const before = (await openFindings(id)).map((f) => f.id).sort();

      peer.unreachable('zones/europe-west1-b');
      const partial = await scan(id);
      expect([partial.status, partial.summary.findings]).toEqual(['succeeded', expect.objectContaining({ open: 2, new: 0, resolved: 0, realisedMonthlySavings: 0 })]);
      peer.reachable('zones/europe-west1-b');
      expect((await scan(id)).summary.findings).toMatchObject({ open: 2, new: 0, resolved: 0 });
      expect((await openFindings(id)).map((f) => f.id).sort()).toEqual(before);
    } finally {
      await peer.close();
    }
  });

  it('a key the token endpoint refuses ends the run with a clear error', async () => {
    const other = keyPair();
    const bad = await client(api, token).post('/api/v1/integrations', { team: team.slug, type: 'gcp', name: 'gcp-wrong-key', settings: gcpSettings(), secrets: { serviceAccountKey: keyFile(`${gcp.url}/token`, other.privateKey) } });
    expect(bad.status).toBe(201);
    const run = await scan(bad.body.id);
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/^Google Cloud refused the credentials of integration "gcp-wrong-key" \(invalid_grant\)/);
    expect(run.error).not.toContain('PRIVATE KEY');
  }, 60_000);
});

describe('azure and gcp integrations', () => {
  it('a cost scan of an integration that is no cloud account ends the run saying so', async () => {
    const other = await client(api, token).post('/api/v1/integrations', { team: team.slug, type: 'alert-source', name: 'not-a-cloud', settings: {}, secrets: { token: 'x'.repeat(40) } });
    expect(other.status).toBe(201);
    const run = await scan(other.body.id);
    expect([run.status, run.error]).toEqual(['failed', 'integration "not-a-cloud" is of type alert-source: a cost run needs an aws, azure or gcp integration']);
  }, 60_000);

  it('secrets are sealed at rest and never shown: only which ones are stored', async () => {
    for (const [id, fields, plain] of [[azureId, ['clientSecret'], azureCreds.clientSecret], [gcpId, ['serviceAccountKey'], 'PRIVATE KEY']] as const) {
      const view = await client(api, token).get(`/api/v1/integrations/${id}`);
      expect([view.status, view.body.secretFields]).toEqual([200, fields]);
      expect(JSON.stringify(view.body)).not.toContain(plain);
      const [row] = await api.deps.db.em.fork().getConnection().execute<Array<{ secret: string }>>('select secret from integrations where id = ?', [id]);
      expect(row!.secret).not.toContain(plain);
    }
  });

  it('bad settings or secrets are a 400 problem+json naming the field, and nothing is stored', async () => {
    const before = (await client(api, token).get(`/api/v1/integrations?team=${team.slug}`)).body.items.length;
    const post = (type: string, settings: Record<string, unknown>, secrets: Record<string, unknown>) => client(api, token).post('/api/v1/integrations', { team: team.slug, type, name: `bad-${type}`, settings, secrets });
    const cases: Array<[Awaited<ReturnType<typeof post>>, string[]]> = [
      [await post('azure', { ...azureSettings(), subscriptions: [] }, { clientSecret: azureCreds.clientSecret }), ['settings.subscriptions']],
      [await post('azure', { ...azureSettings(), clientId: 'not-a-uuid' }, { clientSecret: azureCreds.clientSecret }), ['settings.clientId']],
      [await post('azure', azureSettings(), {}), ['secrets.clientSecret']],
      [await post('gcp', gcpSettings(), { serviceAccountKey: `{"type": "service_account", "client_email": "${serviceAccount}", "padding": "${'x'.repeat(120)}"}` }), ['secrets.serviceAccountKey']],
      [await post('gcp', { ...gcpSettings(), billingTable: 'acme-billing.x; DROP TABLE y' }, { serviceAccountKey: keyFile(`${gcp.url}/token`) }), ['settings.billingTable']],
    ];
    for (const [res, fields] of cases) {
      expect([res.status, res.headers.get('content-type')]).toEqual([400, 'application/problem+json']);
      expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(fields);
    }
    expect(cases[3]![0].body.errors[0].message).toMatch(/lacks private_key, token_uri/);
    expect((await client(api, token).get(`/api/v1/integrations?team=${team.slug}`)).body.items).toHaveLength(before);
    // A cost action's resource id must fit its action on every cloud.
    const action = await client(api, token).post('/api/v1/runs', { kind: 'cost-action', team: team.slug, params: { integration: gcpId, region: 'europe-west1', action: 'stop-instance', resourceId: `projects/${gcpProject}/zones/europe-west1-b/disks/orphan-data` } });
    expect([action.status, action.body.errors.map((e: { field: string }) => e.field)]).toEqual([400, ['params.resourceId']]);
  });
});
