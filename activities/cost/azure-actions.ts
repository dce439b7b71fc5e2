import type { CostActionParams, CostActionResult } from '../../contracts/kinds/cost-action.ts';
import { API_VERSIONS, type AzureClient } from './azure-client.ts';
import { powerState } from './azure-inventory.ts';
import { refused } from './cloud-errors.ts';

/** The tag every snapshot an action takes carries (the snapshot's name is the run's too). */
export const RUN_TAG = 'opssight-run-id';

const nameOf = (id: string) => id.slice(id.lastIndexOf('/') + 1);
const resourceGroupOf = (id: string) => id.replace(/\/providers\/.*$/i, '');

/**
 * Deallocates the VM unless it is deallocated, deallocating or gone. A VM only stopped (from inside
 * the guest, or "stop" without deallocation) is still billed for its compute, so it is deallocated too.
 */
async function deallocate(azure: AzureClient, id: string, signal: AbortSignal): Promise<CostActionResult> {
  const view = await azure.call<{ statuses?: Array<{ code?: string }> }>(`${id}/instanceView`, API_VERSIONS.compute, { accept: [404] });
  if (view.status === 404) return { action: 'stop-instance', resourceId: id, outcome: 'already', detail: `VM ${nameOf(id)} no longer exists` };
  const state = powerState(view.body.statuses);
  if (state === 'deallocated' || state === 'deallocating') return { action: 'stop-instance', resourceId: id, outcome: 'already', detail: `VM ${nameOf(id)} is already ${state}` };
  // A cancel stops the action up to here. Past this point neither the call nor the wait for it listens
  // to one: the change cannot be taken back, and the run records what Azure does (the workflow records
  // success despite a cancel).
  signal.throwIfAborted();
  const accepted = await azure.call(`${id}/deallocate`, API_VERSIONS.compute, { method: 'POST' });
  await azure.completion(accepted);
  return { action: 'stop-instance', resourceId: id, outcome: 'done', detail: `VM ${nameOf(id)} ${state} → deallocated` };
}

type Disk = { location: string; properties?: { diskState?: string } };
type Snapshot = { properties?: { provisioningState?: string } };

/**
 * Snapshot, then delete. The snapshot's name is the run's (`opssight-<run id>`, in the disk's resource
 * group), so a retry after a crash finds it by name rather than taking a second; a disk that is gone
 * while our snapshot exists was deleted by an earlier attempt.
 */
async function deleteDisk(azure: AzureClient, id: string, runId: string, signal: AbortSignal): Promise<CostActionResult> {
  const snapshotId = `${resourceGroupOf(id)}/providers/Microsoft.Compute/snapshots/opssight-${runId}`;
  const ours = await azure.call<Snapshot>(snapshotId, API_VERSIONS.disks, { accept: [404] });
  const disk = await azure.call<Disk>(id, API_VERSIONS.disks, { accept: [404] });
  if (disk.status === 404) {
    const kept = ours.status !== 404;
    return { action: 'delete-volume', resourceId: id, outcome: kept ? 'done' : 'already', ...(kept ? { snapshotId } : {}), detail: kept ? `disk ${nameOf(id)} deleted, kept as ${nameOf(snapshotId)}` : `disk ${nameOf(id)} no longer exists` };
  }
  const state = disk.body.properties?.diskState;
  if (state !== 'Unattached') throw refused(`disk ${nameOf(id)} is ${state ?? 'in an unknown state'} (attached since the scan?): not deleted`);
  if (ours.status === 404 || ours.body.properties?.provisioningState !== 'Succeeded') {
    // PUT by name is idempotent: a repeat after a lost reply answers for the same snapshot.
    const created = await azure.call(snapshotId, API_VERSIONS.disks, {
      method: 'PUT',
      signal,
      body: { location: disk.body.location, tags: { [RUN_TAG]: runId }, properties: { creationData: { createOption: 'Copy', sourceResourceId: id } } },
    });
    await azure.completion(created, signal);
  }
  // Past the point of no return (see deallocate): the snapshot is the last step a cancel stops.
  signal.throwIfAborted();
  const deleted = await azure.call(id, API_VERSIONS.disks, { method: 'DELETE', accept: [204, 404] });
  await azure.completion(deleted);
  return { action: 'delete-volume', resourceId: id, outcome: 'done', snapshotId, detail: `disk ${nameOf(id)} deleted, kept as ${nameOf(snapshotId)}` };
}

/** Deletes the public IP unless it is gone; one associated since the scan is in use and is left alone. */
async function releasePublicIp(azure: AzureClient, id: string, signal: AbortSignal): Promise<CostActionResult> {
  const ip = await azure.call<{ properties?: { ipAddress?: string; ipConfiguration?: { id?: string } } }>(id, API_VERSIONS.network, { accept: [404] });
  if (ip.status === 404) return { action: 'release-address', resourceId: id, outcome: 'already', detail: `public IP ${nameOf(id)} is already released` };
  const address = ip.body.properties?.ipAddress ?? nameOf(id);
  if (ip.body.properties?.ipConfiguration) throw refused(`public IP ${address} is associated (${nameOf(ip.body.properties.ipConfiguration.id ?? '')}) since the scan: not released`);
  // Past the point of no return (see deallocate).
  signal.throwIfAborted();
  const deleted = await azure.call(id, API_VERSIONS.network, { method: 'DELETE', accept: [204, 404] });
  await azure.completion(deleted);
  return { action: 'release-address', resourceId: id, outcome: 'done', detail: `public IP ${address} released` };
}

export async function performAzureAction(azure: AzureClient, params: CostActionParams, runId: string, signal: AbortSignal): Promise<CostActionResult> {
  switch (params.action) {
    case 'stop-instance':
      return deallocate(azure, params.resourceId, signal);
    case 'delete-volume':
      return deleteDisk(azure, params.resourceId, runId, signal);
    case 'release-address':
      return releasePublicIp(azure, params.resourceId, signal);
  }
}
