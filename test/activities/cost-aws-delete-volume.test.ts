import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CreateSnapshotCommand, CreateVolumeCommand, DescribeSnapshotsCommand, DescribeVolumesCommand, EC2Client } from '@aws-sdk/client-ec2';
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
let relay: { url: string; creates: number; failNextCreate: () => void; close: () => Promise<void> };
let ec2: EC2Client;

/** Passes everything on to moto; a CreateSnapshot it is told to fail is carried out, then answered 500. */
async function startRelay(target: string): Promise<typeof relay> {
  let failNext = false;
  const state = { creates: 0 };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const action = new URLSearchParams(body.toString()).get('Action');
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
});
