import { z } from 'zod';
import { TASK_QUEUES, type RunInput } from '../temporal.ts';
import { defineKind } from './kind.ts';

export const COST_ACTIONS = ['stop-instance', 'delete-volume', 'release-address'] as const;
export type CostActionType = (typeof COST_ACTIONS)[number];

const AZURE_NAME = '[A-Za-z0-9][\\w.()-]{0,89}';
const AZURE = `/subscriptions/[0-9a-f-]{36}/resourceGroups/${AZURE_NAME}/providers/(Microsoft\\.Compute/(virtualMachines|disks)|Microsoft\\.Network/publicIPAddresses)/${AZURE_NAME}`;
const GCP = 'projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/(zones/[a-z]+-[a-z]+\\d{1,2}-[a-z]/(instances|disks)|(regions/[a-z]+-[a-z]+\\d{1,2}|global)/addresses)/[a-z]([-a-z0-9]{0,61}[a-z0-9])?';
const RESOURCE_ID = new RegExp(`^((i|vol|eipalloc)-[0-9a-f]{8,17}|${AZURE}|${GCP})$`, 'i');

/** Which action a resource id of each cloud takes: AWS by its prefix, Azure by its resource type, GCP by its collection. */
const ACTS_ON: Record<CostActionType, RegExp> = {
  'stop-instance': /^i-|\/virtualMachines\/|\/instances\//i,
  'delete-volume': /^vol-|\/disks\//i,
  'release-address': /^eipalloc-|\/publicIPAddresses\/|\/addresses\//i,
};
const WHAT: Record<CostActionType, string> = { 'stop-instance': 'an instance or VM', 'delete-volume': 'a volume or disk', 'release-address': 'an Elastic IP, public IP or address' };

export const costActionParamsSchema = z.strictObject({
  integration: z.uuid().describe('id of the team\'s aws, azure or gcp integration holding the resource'),
  region: z.string().regex(/^([a-z]{2}(-gov)?-[a-z]+-\d|[a-z][a-z0-9]{2,40}|[a-z]+-[a-z]+\d{1,2}|global)$/, 'a region: us-east-1 (AWS), westeurope (Azure), europe-west1 or global (GCP)'),
  action: z.enum(COST_ACTIONS).describe('stop-instance (Azure: deallocate); delete-volume (a snapshot is taken first and kept); release-address'),
  resourceId: z.string().max(400).regex(RESOURCE_ID, 'an AWS id (i-…, vol-…, eipalloc-…), an Azure resource id or a GCP resource path').describe('i-…, vol-…, eipalloc-…; /subscriptions/…/virtualMachines|disks|publicIPAddresses/…; projects/…/instances|disks|addresses/…'),
  finding: z.uuid().optional().describe('the cost finding this action fixes (the next scan verifies the saving)'),
});
export type CostActionParams = z.infer<typeof costActionParamsSchema>;
export type CostActionRunInput = RunInput<CostActionParams>;

/** What the action did; `already` when the resource was found already in the wanted state (a retry, or someone else). */
export type CostActionResult = { action: CostActionType; resourceId: string; outcome: 'done' | 'already'; snapshotId?: string; detail: string };

export const costActionKind = defineKind({
  kind: 'cost-action',
  title: 'Cost action (AWS, Azure, GCP)',
  description: 'Stops (Azure: deallocates) an idle instance, snapshots then deletes an unattached volume or disk, or releases an unused address — always after a person approves.',
  paramsSchema: costActionParamsSchema.superRefine((p, ctx) => {
    if (!ACTS_ON[p.action].test(p.resourceId)) ctx.addIssue({ code: 'custom', path: ['resourceId'], message: `${p.action} acts on ${WHAT[p.action]}` });
  }),
  workflowType: 'costActionRun',
  taskQueue: TASK_QUEUES.scans,
  // The integration's id names the account whatever its cloud (which the params alone cannot tell).
  target: (params) => `cloud:${params.integration}:${params.resourceId}`,
  integrations: (params) => [params.integration],
  approval: 'always',
  summary: 'none',
});
