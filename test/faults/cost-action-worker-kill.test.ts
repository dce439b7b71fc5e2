import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { AllocateAddressCommand, CreateVolumeCommand, DescribeAddressesCommand, DescribeInstancesCommand, DescribeSnapshotsCommand, DescribeVolumesCommand, EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { initOrm } from '../../db/orm.ts';
import { createUser } from '../fixtures/users.ts';
import { startAwsRelay, type AwsRelay } from '../peers/aws-relay.ts';
import { startMoto, type Moto } from '../peers/moto.ts';
import { stopProcess } from '../peers/processes.ts';
import { recordFault, rounds } from './report.ts';
import { useFaultStack } from './stack.ts';

// Worker processes are killed with SIGKILL after moto has carried out an approved cost action's
// side effect (StopInstances, CreateSnapshot or DeleteVolume, ReleaseAddress) but before the worker
// heard the reply. The run must end succeeded on the next workers with the effect there exactly once:
// one StopInstances, one snapshot of the volume (moto's own list) and the volume gone, one ReleaseAddress.
const stack = useFaultStack({ workers: 0 });
const region = 'us-east-1';
const keys = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
let moto: Moto;
let relay: AwsRelay;
let ec2: EC2Client;
let token: string;
let integration: string;

beforeAll(async () => {
  moto = await startMoto();
  relay = await startAwsRelay(moto.url);
  ec2 = new EC2Client({ region, endpoint: moto.url, credentials: { ...keys } });
  // Integrations are an admin's to create.
  const orm = await initOrm(stack().env.DATABASE_URL!, { poolMax: 1 });
  const admin = await createUser(orm.em, { teams: [stack().team], role: 'admin' });
  await orm.close();
  token = (await stack().call('POST', '/api/v1/auth/login', undefined, { email: admin.email, password: admin.password })).body.accessToken;
  const res = await stack().call('POST', '/api/v1/integrations', token, { team: stack().team.slug, type: 'aws', name: 'prod', settings: { regions: [region], endpoint: relay.url }, secrets: keys });
  expect(res.status).toBe(201);
  integration = res.body.id;
}, 60_000);
afterAll(async () => {
  ec2?.destroy();
  await relay?.stop();
  await moto?.stop();
});

const notFound = (err: unknown) => (/NotFound$/.test((err as Error).name) ? undefined : Promise.reject(err));
const seeders = {
  'stop-instance': async () => (await ec2.send(new RunInstancesCommand({ ImageId: 'ami-03cf127a', InstanceType: 't3.large', MinCount: 1, MaxCount: 1 }))).Instances![0]!.InstanceId!,
  'delete-volume': async () => (await ec2.send(new CreateVolumeCommand({ AvailabilityZone: `${region}a`, Size: 50, VolumeType: 'gp3' }))).VolumeId!,
  'release-address': async () => (await ec2.send(new AllocateAddressCommand({ Domain: 'vpc' }))).AllocationId!,
};
/** The account as moto keeps it, and the calls that reached it: what "exactly once" is checked against. */
const effects = {
  'stop-instance': async (id: string) => {
    const state = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0]!.Instances![0]!.State!.Name;
    return { state, stops: relay.count('StopInstances', id) };
  },
  'delete-volume': async (id: string) => {
    const snapshots = (await ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: [{ Name: 'volume-id', Values: [id] }] }))).Snapshots ?? [];
    const volume = await ec2.send(new DescribeVolumesCommand({ VolumeIds: [id] })).then((v) => v.Volumes?.[0]?.State, notFound);
    return { snapshots: snapshots.length, creates: relay.count('CreateSnapshot', id), volume: volume ?? 'gone' };
  },
  'release-address': async (id: string) => {
    const address = await ec2.send(new DescribeAddressesCommand({ AllocationIds: [id] })).then((a) => a.Addresses?.[0]?.PublicIp, notFound);
    return { address: address ?? 'released', releases: relay.count('ReleaseAddress', id) };
  },
};
const wanted = {
  'stop-instance': { state: 'stopped', stops: 1 },
  'delete-volume': { snapshots: 1, creates: 1, volume: 'gone' },
  'release-address': { address: 'released', releases: 1 },
};

it('worker kill -9 mid cost-action: the run finishes on another worker, the effect once', async () => {
  // The kill lands after the call named here has changed the account; a volume's two calls take turns.
  const cases = Array.from({ length: rounds(1, 5) }, (_, round) => [
    ['stop-instance', 'StopInstances'],
    ['delete-volume', round % 2 === 0 ? 'CreateSnapshot' : 'DeleteVolume'],
    ['release-address', 'ReleaseAddress'],
  ] as const).flat();
  const outcomes: Array<{ runId: string; ok: boolean; why: string }> = [];
  let workers = [await stack().worker(), await stack().worker()];
  for (const [action, killAfter] of cases) {
    const resourceId = await seeders[action]();
    const res = await stack().call('POST', '/api/v1/runs', token, { kind: 'cost-action', team: stack().team.slug, params: { integration, region, action, resourceId } });
    expect(res.status).toBe(201);
    const runId = res.body.id as string;
    await stack().untilRuns([runId], `run ${runId} to await approval`, async () => ((await stack().status(runId)).status === 'awaiting_approval' ? true : undefined), 60_000, 50);
    const reached = relay.hold(killAfter);
    expect((await stack().call('POST', `/api/v1/runs/${runId}/approve`, token, { comment: 'fault test' })).status).toBe(200);
    await reached;
    for (const w of workers) await stopProcess(w.child, 'SIGKILL');
    workers = await Promise.all([stack().worker(), stack().worker()]);

    const final = await stack().ended(runId, 120_000);
    const seen = await effects[action](resourceId);
    const ok = final.status === 'succeeded' && JSON.stringify(seen) === JSON.stringify(wanted[action]);
    outcomes.push({ runId, ok, why: `${action} killed after ${killAfter}: ${final.status} ${final.error ?? ''} ${JSON.stringify(seen)}` });
  }
  const passed = outcomes.filter((o) => o.ok).length;
  recordFault({ fault: 'worker kill -9 mid cost-action', passed, rounds: outcomes.length, detail: 'stop-instance, delete-volume, release-address killed after their effect reached moto: run succeeded on the next workers, one stop, one snapshot then the volume gone, one release' });
  expect(outcomes.filter((o) => !o.ok)).toEqual([]);
}, 600_000);
