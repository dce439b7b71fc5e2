import { z } from 'zod';

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
    .describe('configuration files: name → HCL text'),
  variables: z
    .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]*$/, 'not a valid variable name'), z.union([z.string(), z.number(), z.boolean()]))
    .default({})
    .describe('input variables'),
  autoApply: z.boolean().default(false).describe('apply without waiting for approval'),
});
export type TerraformParams = z.infer<typeof terraformParamsSchema>;

export type TerraformPlanResult = {
  hasChanges: boolean;
  summary: { add: number; change: number; destroy: number };
  /** Identifies the saved plan file the apply must use. */
  planId: string;
};
