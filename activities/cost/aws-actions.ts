import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateSnapshotCommand, DeleteVolumeCommand, DescribeAddressesCommand, DescribeInstancesCommand, DescribeSnapshotsCommand, DescribeVolumesCommand,
  ReleaseAddressCommand, StopInstancesCommand, waitUntilSnapshotCompleted, type EC2Client,
} from '@aws-sdk/client-ec2';
import type { CostActionParams, CostActionResult } from '../../contracts/kinds/cost-action.ts';
import { refused } from './cloud-errors.ts';
import type { ActionProgress } from './provider.ts';

/** The tag every snapshot an action takes carries: a retry of the same run finds it instead of taking a second. */
export const RUN_TAG = 'opssight:run-id';

const notFound = (err: unknown) => /NotFound$/.test((err as { name?: string }).name ?? '');

/**
 * Stops the instance unless it is stopped, stopping or gone already. StopInstances on a stopping
 * instance is harmless, so a retry after a lost reply needs no record of its own: the instance's state is it.
 */
async function stopInstance(ec2: EC2Client, id: string): Promise<CostActionResult> {
  const found = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] })).catch((err: unknown) => (notFound(err) ? null : Promise.reject(err)));
  const state = found?.Reservations?.[0]?.Instances?.[0]?.State?.Name;
  if (!state) return { action: 'stop-instance', resourceId: id, outcome: 'already', detail: `instance ${id} no longer exists` };
  if (['stopped', 'stopping', 'terminated', 'shutting-down'].includes(state)) return { action: 'stop-instance', resourceId: id, outcome: 'already', detail: `instance ${id} is already ${state}` };
  const out = await ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
  return { action: 'stop-instance', resourceId: id, outcome: 'done', detail: `instance ${id} ${state} → ${out.StoppingInstances?.[0]?.CurrentState?.Name ?? 'stopping'}` };
}

// How long a retry keeps asking for the snapshot an earlier attempt may have taken before it takes
// one: DescribeSnapshots is eventually consistent, so a snapshot created moments ago can be missing
// from a tag-filtered answer for a while.
const RECHECK_DELAYS_MS = [1_000, 2_000, 4_000, 8_000];

const ourSnapshot = async (ec2: EC2Client, id: string, runId: string) =>
  (await ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: [{ Name: `tag:${RUN_TAG}`, Values: [runId] }, { Name: 'volume-id', Values: [id] }] }))).Snapshots?.[0]?.SnapshotId;

/** The snapshot of this volume an earlier attempt saved in its heartbeat details, if it did. */
function savedSnapshot(previous: unknown, id: string): string | undefined {
  const saved = previous as { volumeId?: unknown; snapshotId?: unknown } | null | undefined;
  return saved?.volumeId === id && typeof saved.snapshotId === 'string' ? saved.snapshotId : undefined;
}

/**
 * Snapshot, then delete. The snapshot is created with the run's tag in the same call (TagSpecifications)
 * and its id saved in the heartbeat details, so after a crash the next attempt uses it (or, without
 * details, finds it by that tag, asking again for a while as a new snapshot may not be listed yet) and
 * goes on to the delete; a volume that is gone with our snapshot present was deleted by an earlier attempt.
 * CreateSnapshot goes out once per attempt (`createOnce`): it takes no ClientToken, so an SDK resend
 * after a lost reply would take a second snapshot.
 */
async function deleteVolume(ec2: EC2Client, createOnce: EC2Client, id: string, runId: string, signal: AbortSignal, progress?: ActionProgress): Promise<CostActionResult> {
  let snapshotId = savedSnapshot(progress?.previous, id) ?? (await ourSnapshot(ec2, id, runId));
  const volume = await ec2.send(new DescribeVolumesCommand({ VolumeIds: [id] })).then((v) => v.Volumes?.[0], (err: unknown) => (notFound(err) ? undefined : Promise.reject(err)));
  // EC2 lists a deleted volume as `deleting`, then `deleted`, for a while after DeleteVolume: a retry
  // after an earlier attempt's delete went through sees that, and it is as gone as a NotFound.
  if (!volume || volume.State === 'deleting' || volume.State === 'deleted') {
    const gone = volume ? `is ${volume.State}` : 'no longer exists';
    return { action: 'delete-volume', resourceId: id, outcome: snapshotId ? 'done' : 'already', ...(snapshotId ? { snapshotId } : {}), detail: snapshotId ? `volume ${id} deleted, kept as ${snapshotId}` : `volume ${id} ${gone}` };
  }
  if (volume.State !== 'available') throw refused(`volume ${id} is ${volume.State} (attached since the scan?): not deleted`);
  if (!snapshotId && (progress?.attempt ?? 1) > 1) {
    for (const delay of RECHECK_DELAYS_MS) {
      await sleep(delay, undefined, { signal });
      if ((snapshotId = await ourSnapshot(ec2, id, runId))) break;
    }
  }
  if (!snapshotId) {
    const snap = await createOnce.send(new CreateSnapshotCommand({
      VolumeId: id,
      Description: `OpsSight cost-action ${runId}: kept before deleting ${id}`,
      TagSpecifications: [{ ResourceType: 'snapshot', Tags: [{ Key: RUN_TAG, Value: runId }] }],
    }));
    snapshotId = snap.SnapshotId!;
    progress?.save({ volumeId: id, snapshotId });
  }
  await waitUntilSnapshotCompleted({ client: ec2, maxWaitTime: 3600, abortSignal: signal }, { SnapshotIds: [snapshotId] });
  await ec2.send(new DeleteVolumeCommand({ VolumeId: id })).catch((err: unknown) => {
    if (!notFound(err)) throw err;
  });
  return { action: 'delete-volume', resourceId: id, outcome: 'done', snapshotId, detail: `volume ${id} deleted, kept as ${snapshotId}` };
}

/** Releases the address unless it is gone; one that got associated since the scan is in use and is left alone. */
async function releaseAddress(ec2: EC2Client, allocationId: string): Promise<CostActionResult> {
  const found = await ec2.send(new DescribeAddressesCommand({ AllocationIds: [allocationId] })).then((a) => a.Addresses?.[0], (err: unknown) => (notFound(err) ? undefined : Promise.reject(err)));
  if (!found) return { action: 'release-address', resourceId: allocationId, outcome: 'already', detail: `address ${allocationId} is already released` };
  if (found.AssociationId) throw refused(`address ${found.PublicIp ?? allocationId} is associated (${found.AssociationId}) since the scan: not released`);
  await ec2.send(new ReleaseAddressCommand({ AllocationId: allocationId })).catch((err: unknown) => {
    if (!notFound(err)) throw err;
  });
  return { action: 'release-address', resourceId: allocationId, outcome: 'done', detail: `address ${found.PublicIp ?? allocationId} released` };
}

/** `createOnce`: a client for CreateSnapshot without the SDK's retries (aws-clients.ts ec2Once); `progress`: the activity's heartbeat details. */
export async function performCostAction(ec2: EC2Client, params: CostActionParams, runId: string, signal: AbortSignal, opts: { createOnce?: EC2Client; progress?: ActionProgress } = {}): Promise<CostActionResult> {
  switch (params.action) {
    case 'stop-instance':
      return stopInstance(ec2, params.resourceId);
    case 'delete-volume':
      return deleteVolume(ec2, opts.createOnce ?? ec2, params.resourceId, runId, signal, opts.progress);
    case 'release-address':
      return releaseAddress(ec2, params.resourceId);
  }
}
