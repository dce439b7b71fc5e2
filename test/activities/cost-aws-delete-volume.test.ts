import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CreateSnapshotCommand, CreateVolumeCommand, DeleteVolumeCommand, DescribeSnapshotsCommand, DescribeVolumesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { RUN_TAG } from '../../activities/cost/aws-actions.ts';
import { awsClients } from '../../activities/cost/aws-clients.ts';
import { awsProvider } from '../../activities/cost/aws-provider.ts';
import type { ActionProgress } from '../../activities/cost/provider.ts';
import type { CostActionParams } from '../../contracts/kinds/cost-action.ts';
import { startMoto, type Moto } from '../peers/moto.ts';

// An AWS delete-volume takes the volume's snapshot once however its CreateSnapshot reply is lost:
// the AWS provider as the activity builds it (awsClients, awsProvider) against moto, with a relay in
// front that can carry a CreateSnapshot out and answer it 500, as a reset after AWS did the work would.
const region = 'us-east-1';
const keys = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
let moto: Moto;
let relay: { url: string; creates: number; failNextCreate: () => void; deleting: Set<string>; close: () => Promise<void> };
let ec2: EC2Client;

/**
 * Passes everything on to moto; a CreateSnapshot it is told to fail is carried out, then answered 500.
 * A volume in `deleting` that moto no longer has is listed `deleting`, as EC2 keeps listing a volume
 * for a while after DeleteVolume (moto removes it at once).
 */
async function startRelay(target: string): Promise<typeof relay> {
  let failNext = false;
  const deleting = new Set<string>();
  const state = { creates: 0 };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const form = new URLSearchParams(body.toString());
      const action = form.get('Action');
      if (action === 'CreateSnapshot') state.creates++;
      const headers = { ...req.headers };
      for (const h of ['host', 'connection', 'content-length', 'transfer-encoding']) delete headers[h];
      fetch(`${target}${req.url}`, { method: req.method, headers: headers as Record<string, string>, body: req.method === 'GET' ? undefined : body })
        .then(async (answer) => {
          const text = Buffer.from(await answer.arrayBuffer());
          if (action === 'CreateSnapshot' && failNext) {
            failNext = false;
            res.writeHead(500, { 'content-type': 'text/xml' });
            return res.end('<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>InternalError</Code><Message>An internal error has occurred</Message></Error></Errors><RequestID>relay</RequestID></Response>');
          }
          const volumeId = form.get('VolumeId.1') ?? '';
          if (action === 'DescribeVolumes' && answer.status === 400 && deleting.has(volumeId)) {
            res.writeHead(200, { 'content-type': 'text/xml' });
            return res.end(`<?xml version="1.0" encoding="UTF-8"?><DescribeVolumesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>relay</requestId><volumeSet><item><volumeId>${volumeId}</volumeId><size>20</size><availabilityZone>${region}a</availabilityZone><status>deleting</status><volumeType>gp3</volumeType><attachmentSet/></item></volumeSet></DescribeVolumesResponse>`);
          }
          res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'text/xml' });
          res.end(text);
        })
        .catch((err: unknown) => res.writeHead(502).end(String(err)));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get creates() {
      return state.creates;
    },
    failNextCreate: () => (failNext = true),
    deleting,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

beforeAll(async () => {
  moto = await startMoto();
  relay = await startRelay(moto.url);
  ec2 = new EC2Client({ region, endpoint: moto.url, credentials: { ...keys } });
}, 60_000);
afterAll(async () => {
  ec2?.destroy();
  await relay?.close();
  await moto?.stop();
});

const provider = () => {
  const clients = awsClients({ settings: { regions: [region], endpoint: relay.url }, secrets: keys, sessionName: 'opssight-test' });
  return { provider: awsProvider(clients), close: clients.destroy };
};
const newVolume = async () => (await ec2.send(new CreateVolumeCommand({ AvailabilityZone: `${region}a`, Size: 20, VolumeType: 'gp3' }))).VolumeId!;
const params = (resourceId: string): CostActionParams => ({ integration: crypto.randomUUID(), region, action: 'delete-volume', resourceId });
const snapshotsOf = async (volumeId: string) => (await ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: [{ Name: 'volume-id', Values: [volumeId] }] }))).Snapshots ?? [];
const volumeGone = async (id: string) => ec2.send(new DescribeVolumesCommand({ VolumeIds: [id] })).then(() => false, (err: Error) => /NotFound$/.test(err.name));
/** Heartbeat details as Temporal would carry them from one attempt to the next. */
const attempts = () => {
  let details: unknown;
  let attempt = 0;
  return (): ActionProgress => ({ attempt: ++attempt, previous: details, save: (d) => (details = d) });
};

describe('AWS delete-volume', () => {
  it('a CreateSnapshot answered 500 after AWS took the snapshot is not resent: the retry finds it, one snapshot in all', async () => {
    const volume = await newVolume();
    const runId = crypto.randomUUID();
    const { provider: aws, close } = provider();
    const next = attempts();
    try {
      relay.failNextCreate();
      const before = relay.creates;
      // Attempt 1 fails on the lost reply (retryable); Temporal's attempt 2 follows.
      const first = await aws.act(params(volume), runId, new AbortController().signal, next()).then(() => 'done', (err: Error) => err.name);
      const result = first === 'done' ? undefined : await aws.act(params(volume), runId, new AbortController().signal, next());
      const snaps = await snapshotsOf(volume);
      expect({ creates: relay.creates - before, snapshots: snaps.length, tagged: snaps.filter((s) => s.Tags?.some((t) => t.Key === RUN_TAG && t.Value === runId)).length }).toEqual({ creates: 1, snapshots: 1, tagged: 1 });
      expect(result).toMatchObject({ outcome: 'done', snapshotId: snaps[0]!.SnapshotId });
      expect(await volumeGone(volume)).toBe(true);
    } finally {
      close();
    }
  });

  it('a retry uses the snapshot the last attempt saved in its heartbeat details, even one the tag filter does not list yet', async () => {
    const volume = await newVolume();
    // Untagged: what a tag-filtered DescribeSnapshots answers while EC2 has not caught up with a new snapshot.
    const saved = (await ec2.send(new CreateSnapshotCommand({ VolumeId: volume }))).SnapshotId!;
    const { provider: aws, close } = provider();
    try {
      const before = relay.creates;
      const result = await aws.act(params(volume), crypto.randomUUID(), new AbortController().signal, { attempt: 2, previous: { volumeId: volume, snapshotId: saved }, save: () => undefined });
      expect(result).toMatchObject({ outcome: 'done', snapshotId: saved });
      expect({ creates: relay.creates - before, snapshots: (await snapshotsOf(volume)).length }).toEqual({ creates: 0, snapshots: 1 });
      expect(await volumeGone(volume)).toBe(true);
    } finally {
      close();
    }
  });

  it('a retry that finds the volume deleting after the last attempt deleted it is done, with the run\'s snapshot', async () => {
    const volume = await newVolume();
    const runId = crypto.randomUUID();
    // What the last attempt left: the run's snapshot taken, DeleteVolume carried out, its reply lost.
    const snapshotId = (await ec2.send(new CreateSnapshotCommand({ VolumeId: volume, TagSpecifications: [{ ResourceType: 'snapshot', Tags: [{ Key: RUN_TAG, Value: runId }] }] }))).SnapshotId!;
    await ec2.send(new DeleteVolumeCommand({ VolumeId: volume }));
    relay.deleting.add(volume);
    const { provider: aws, close } = provider();
    try {
      // What the action will read: the volume listed, `deleting` (not the NotFound the old path handled).
      const listed = new EC2Client({ region, endpoint: relay.url, credentials: { ...keys } });
      expect((await listed.send(new DescribeVolumesCommand({ VolumeIds: [volume] }))).Volumes?.[0]?.State).toBe('deleting');
      listed.destroy();
      const result = await aws.act(params(volume), runId, new AbortController().signal, { attempt: 2, previous: undefined, save: () => undefined });
      expect(result).toMatchObject({ outcome: 'done', snapshotId });
      expect((await snapshotsOf(volume)).length).toBe(1);
    } finally {
      close();
    }
  });
});
