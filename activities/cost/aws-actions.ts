import {
  CreateSnapshotCommand, DeleteVolumeCommand, DescribeAddressesCommand, DescribeInstancesCommand, DescribeSnapshotsCommand, DescribeVolumesCommand,
  ReleaseAddressCommand, StopInstancesCommand, waitUntilSnapshotCompleted, type EC2Client,
} from '@aws-sdk/client-ec2';
import type { CostActionParams, CostActionResult } from '../../contracts/kinds/cost-action.ts';
import { refused } from './cloud-errors.ts';

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

/**
 * Snapshot, then delete. The snapshot is created with the run's tag in the same call (TagSpecifications),
 * so after a crash the next attempt finds it by that tag and goes on to the delete; a volume that is gone
 * with our snapshot present was deleted by an earlier attempt.
 */
async function deleteVolume(ec2: EC2Client, id: string, runId: string, signal: AbortSignal): Promise<CostActionResult> {
  const ours = await ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: [{ Name: `tag:${RUN_TAG}`, Values: [runId] }, { Name: 'volume-id', Values: [id] }] }));
  let snapshotId = ours.Snapshots?.[0]?.SnapshotId;
  const volume = await ec2.send(new DescribeVolumesCommand({ VolumeIds: [id] })).then((v) => v.Volumes?.[0], (err: unknown) => (notFound(err) ? undefined : Promise.reject(err)));
  if (!volume) {
    return { action: 'delete-volume', resourceId: id, outcome: snapshotId ? 'done' : 'already', ...(snapshotId ? { snapshotId } : {}), detail: snapshotId ? `volume ${id} deleted, kept as ${snapshotId}` : `volume ${id} no longer exists` };
  }
  if (volume.State !== 'available') throw refused(`volume ${id} is ${volume.State} (attached since the scan?): not deleted`);
  if (!snapshotId) {
    const snap = await ec2.send(new CreateSnapshotCommand({
      VolumeId: id,
      Description: `OpsSight cost-action ${runId}: kept before deleting ${id}`,
      TagSpecifications: [{ ResourceType: 'snapshot', Tags: [{ Key: RUN_TAG, Value: runId }] }],
    }));
    snapshotId = snap.SnapshotId!;
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

export async function performCostAction(ec2: EC2Client, params: CostActionParams, runId: string, signal: AbortSignal): Promise<CostActionResult> {
  switch (params.action) {
    case 'stop-instance':
      return stopInstance(ec2, params.resourceId);
    case 'delete-volume':
      return deleteVolume(ec2, params.resourceId, runId, signal);
    case 'release-address':
      return releaseAddress(ec2, params.resourceId);
  }
}
