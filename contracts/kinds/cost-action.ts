import { z } from 'zod';
import { TASK_QUEUES, type RunInput } from '../temporal.ts';
import { defineKind } from './kind.ts';

export const COST_ACTIONS = ['stop-instance', 'delete-volume', 'release-address'] as const;
export type CostActionType = (typeof COST_ACTIONS)[number];

export const costActionParamsSchema = z.strictObject({
  integration: z.uuid().describe('id of the team\'s aws integration holding the resource'),
  region: z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, 'an AWS region such as us-east-1'),
  action: z.enum(COST_ACTIONS).describe('stop-instance; delete-volume (a snapshot is taken first and kept); release-address'),
  resourceId: z.string().regex(/^(i|vol|eipalloc)-[0-9a-f]{8,17}$/, 'an instance, volume or Elastic IP allocation id').describe('i-…, vol-… or eipalloc-…'),
  finding: z.uuid().optional().describe('the cost finding this action fixes (the next scan verifies the saving)'),
});
export type CostActionParams = z.infer<typeof costActionParamsSchema>;
export type CostActionRunInput = RunInput<CostActionParams>;

/** What the action did; `already` when the resource was found already in the wanted state (a retry, or someone else). */
export type CostActionResult = { action: CostActionType; resourceId: string; outcome: 'done' | 'already'; snapshotId?: string; detail: string };

export const costActionKind = defineKind({
  kind: 'cost-action',
  title: 'Cost action (AWS)',
  description: 'Stops an idle instance, snapshots then deletes an unattached volume, or releases an unused Elastic IP — always after a person approves.',
  paramsSchema: costActionParamsSchema.superRefine((p, ctx) => {
    const prefix = { 'stop-instance': 'i-', 'delete-volume': 'vol-', 'release-address': 'eipalloc-' }[p.action];
    if (!p.resourceId.startsWith(prefix)) ctx.addIssue({ code: 'custom', path: ['resourceId'], message: `${p.action} acts on a ${prefix}… id` });
  }),
  workflowType: 'costActionRun',
  taskQueue: TASK_QUEUES.scans,
  target: (params) => `aws:${params.integration}:${params.resourceId}`,
  integrations: (params) => [params.integration],
  approval: 'always',
  summary: 'none',
});
