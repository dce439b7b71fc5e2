import { z } from 'zod';
import { TASK_QUEUES } from '../temporal.ts';
import { defineKind } from './kind.ts';
import { gitSourceSchema } from './source.ts';

const fileName = z
  .string()
  .regex(/^[A-Za-z0-9_-][A-Za-z0-9_.-]*\.tf(\.json)?$/, 'must be a plain .tf or .tf.json file name');

export const terraformParamsSchema = z.object({
  workspace: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]{0,47}$/, 'lower-case letters, digits, "-" and "_", at most 48 characters')
    .describe('Terraform workspace; its state lives in its own PostgreSQL schema'),
  files: z
    .record(fileName, z.string().max(512 * 1024))
    .refine((files) => Object.keys(files).length > 0, 'at least one .tf file is required')
    // The refine above, as published JSON Schema says it.
    .meta({ minProperties: 1 })
    .optional()
    .describe('configuration files: name → HCL text (or give `source`)'),
  source: gitSourceSchema.optional().describe('the configuration in a git repository (instead of `files`)'),
  variables: z
    .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]*$/, 'not a valid variable name'), z.union([z.string(), z.number(), z.boolean()]))
    .default({})
    .describe('input variables'),
  autoApply: z.boolean().default(false).describe('apply without waiting for approval'),
}).superRefine((p, ctx) => {
  if (!p.files === !p.source) {
    ctx.addIssue({ code: 'custom', path: [p.files ? 'source' : 'files'], message: p.files ? 'give files or source, not both' : 'files or source is required' });
  }
})
  // The refinement above, as the published JSON Schema says it.
  .meta({ oneOf: [{ required: ['files'] }, { required: ['source'] }] });
export type TerraformParams = z.infer<typeof terraformParamsSchema>;

export const terraformKind = defineKind({
  kind: 'terraform',
  title: 'Terraform plan / apply',
  description: 'Plans a Terraform configuration against the workspace\'s state, waits for approval, applies the saved plan.',
  paramsSchema: terraformParamsSchema,
  workflowType: 'terraformRun',
  taskQueue: TASK_QUEUES.infra,
  target: (params) => params.workspace,
  integrations: (params) => (params.source?.integration ? [params.source.integration] : []),
  approval: 'always',
  summary: 'plan',
});

export type TerraformPlanResult = {
  hasChanges: boolean;
  /** What the plan changes, and (for a git source) the commit it was made from. */
  summary: { add: number; change: number; destroy: number; commit?: string };
  /** Identifies the saved plan file the apply must use. */
  planId: string;
};
