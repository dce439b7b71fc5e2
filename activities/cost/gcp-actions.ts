import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CostActionParams, CostActionResult } from '../../contracts/kinds/cost-action.ts';
import { CloudHttpError, refused } from './cloud-errors.ts';
import type { GcpClient, Operation } from './gcp-client.ts';

/** Between two looks at a snapshot another attempt is still taking. */
const SNAPSHOT_POLL_MS = 2_000;

/** The label every snapshot an action takes carries (its name is derived from the run too). */
export const RUN_LABEL = 'opssight-run-id';

/** projects/{p}/zones/{z}/instances/{name} → its parts. */
function partsOf(resourceId: string) {
  const [, project, ...rest] = resourceId.split('/');
  const name = rest.pop()!;
  rest.pop();
  return { project: project!, scope: rest.join('/'), name };
}

/** Stops the instance unless it is stopping, stopped (TERMINATED), suspended or gone; stop on a stopping instance is harmless. */
async function stopInstance(gcp: GcpClient, id: string, signal: AbortSignal): Promise<CostActionResult> {
  const { project, scope, name } = partsOf(id);
  const url = `${gcp.compute}/projects/${project}/${scope}/instances/${name}`;
  const found = await gcp.call<{ status?: string }>(url, { accept: [404] });
  if (found.status === 404) return { action: 'stop-instance', resourceId: id, outcome: 'already', detail: `instance ${name} no longer exists` };
  const state = found.body.status ?? 'UNKNOWN';
  if (['STOPPING', 'TERMINATED', 'STOPPED', 'SUSPENDING', 'SUSPENDED'].includes(state)) return { action: 'stop-instance', resourceId: id, outcome: 'already', detail: `instance ${name} is already ${state}` };
  // A cancel stops the action up to here. Past this point neither the call nor the wait for it listens
  // to one: the change cannot be taken back, and the run records what Google Cloud does (the workflow
  // records success despite a cancel).
  signal.throwIfAborted();
  const op = await gcp.call<Operation>(`${url}/stop`, { method: 'POST' });
  await gcp.done(project, op.body);
  return { action: 'stop-instance', resourceId: id, outcome: 'done', detail: `instance ${name} ${state} → TERMINATED (stopped)` };
}

/**
 * Waits for a snapshot an earlier attempt asked for (409 on ours): a large disk's snapshot can stay
 * CREATING or UPLOADING for longer than the activity's retries last, so it is waited for here, as the
 * first attempt waited for its operation. The disk is kept until the snapshot is READY.
 */
async function snapshotReady(gcp: GcpClient, url: string, name: string, signal: AbortSignal): Promise<void> {
  for (;;) {
    const { status } = (await gcp.call<{ status?: string }>(url)).body;
    if (status === 'READY') return;
    if (status === 'FAILED' || status === 'DELETING') throw new CloudHttpError(200, 'SNAPSHOT_FAILED', `snapshot ${name} is ${status}; the disk is kept`);
    await sleep(SNAPSHOT_POLL_MS, undefined, { signal });
  }
}

/**
 * Snapshot, then delete. The snapshot's name is derived from the run and the disk, so a retry after a
 * crash asks for the same name and, answered 409 (it exists), goes on to the delete; a disk that is
 * gone while our snapshot exists was deleted by an earlier attempt.
 */
async function deleteDisk(gcp: GcpClient, id: string, runId: string, signal: AbortSignal): Promise<CostActionResult> {
  const { project, scope, name } = partsOf(id);
  const snapshot = `opssight-${createHash('sha256').update(`${runId} ${id}`).digest('hex').slice(0, 20)}`;
  const snapshotUrl = `${gcp.compute}/projects/${project}/global/snapshots/${snapshot}`;
  const diskUrl = `${gcp.compute}/projects/${project}/${scope}/disks/${name}`;
  const disk = await gcp.call<{ users?: string[] }>(diskUrl, { accept: [404] });
  if (disk.status === 404) {
    const kept = (await gcp.call(snapshotUrl, { accept: [404] })).status !== 404;
    return { action: 'delete-volume', resourceId: id, outcome: kept ? 'done' : 'already', ...(kept ? { snapshotId: snapshot } : {}), detail: kept ? `disk ${name} deleted, kept as ${snapshot}` : `disk ${name} no longer exists` };
  }
  if (disk.body.users?.length) throw refused(`disk ${name} is attached to ${disk.body.users.map((u) => u.split('/').pop()).join(', ')} (since the scan?): not deleted`);
  const taken = await gcp.call<Operation>(`${diskUrl}/createSnapshot`, { method: 'POST', accept: [409], signal, body: { name: snapshot, labels: { [RUN_LABEL]: runId } } });
  if (taken.status !== 409) await gcp.done(project, taken.body, signal);
  await snapshotReady(gcp, snapshotUrl, snapshot, signal);
  // Past the point of no return (see stopInstance): the snapshot is the last step a cancel stops.
  signal.throwIfAborted();
  const deleted = await gcp.call<Operation>(diskUrl, { method: 'DELETE', accept: [404] });
  if (deleted.status !== 404) await gcp.done(project, deleted.body);
  return { action: 'delete-volume', resourceId: id, outcome: 'done', snapshotId: snapshot, detail: `disk ${name} deleted, kept as ${snapshot}` };
}

/** Releases the address unless it is gone; one in use since the scan is left alone. */
async function releaseAddress(gcp: GcpClient, id: string, signal: AbortSignal): Promise<CostActionResult> {
  const { project, scope, name } = partsOf(id);
  const url = `${gcp.compute}/projects/${project}/${scope}/addresses/${name}`;
  const found = await gcp.call<{ status?: string; address?: string; users?: string[] }>(url, { accept: [404] });
  if (found.status === 404) return { action: 'release-address', resourceId: id, outcome: 'already', detail: `address ${name} is already released` };
  const address = found.body.address ?? name;
  if (found.body.status === 'IN_USE') throw refused(`address ${address} is in use (${(found.body.users ?? []).map((u) => u.split('/').pop()).join(', ')}) since the scan: not released`);
  // Past the point of no return (see stopInstance).
  signal.throwIfAborted();
  const deleted = await gcp.call<Operation>(url, { method: 'DELETE', accept: [404] });
  if (deleted.status !== 404) await gcp.done(project, deleted.body);
  return { action: 'release-address', resourceId: id, outcome: 'done', detail: `address ${address} released` };
}

export async function performGcpAction(gcp: GcpClient, params: CostActionParams, runId: string, signal: AbortSignal): Promise<CostActionResult> {
  switch (params.action) {
    case 'stop-instance':
      return stopInstance(gcp, params.resourceId, signal);
    case 'delete-volume':
      return deleteDisk(gcp, params.resourceId, runId, signal);
    case 'release-address':
      return releaseAddress(gcp, params.resourceId, signal);
  }
}
