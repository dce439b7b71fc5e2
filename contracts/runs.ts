import { z } from 'zod';

export const RUN_STATUSES = [
  'queued',
  'running',
  'awaiting_approval',
  'succeeded',
  'failed',
  'cancelled',
  'timed_out',
] as const;
export const runStatusSchema = z.enum(RUN_STATUSES);
export type RunStatus = z.infer<typeof runStatusSchema>;

export const TERMINAL_STATUSES: readonly RunStatus[] = ['succeeded', 'failed', 'cancelled', 'timed_out'];
export const isTerminal = (status: RunStatus): boolean => TERMINAL_STATUSES.includes(status);

export const planSummarySchema = z.object({
  add: z.number().int(),
  change: z.number().int(),
  destroy: z.number().int(),
});
export type PlanSummary = z.infer<typeof planSummarySchema>;

export const approvalSchema = z.object({
  decision: z.enum(['approved', 'rejected']),
  by: z.string(),
  byEmail: z.string(),
  comment: z.string(),
  at: z.string(),
});
export type Approval = z.infer<typeof approvalSchema>;

export const runSchema = z.object({
  id: z.uuid(),
  kind: z.string(),
  team: z.string().describe('team slug'),
  status: runStatusSchema,
  step: z.string().nullable(),
  target: z.string().nullable().describe('what the run acts on, e.g. the Terraform workspace'),
  params: z.record(z.string(), z.unknown()),
  summary: z.record(z.string(), z.unknown()).nullable(),
  approval: approvalSchema.nullable(),
  error: z.string().nullable(),
  requestedBy: z.object({ id: z.string(), email: z.string() }),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  lastSeq: z.number().int(),
});
export type RunView = z.infer<typeof runSchema>;

export const startRunRequestSchema = z.object({
  kind: z.string().min(1),
  team: z.string().min(1).describe('team slug'),
  params: z.record(z.string(), z.unknown()),
});

export const decisionRequestSchema = z.object({
  comment: z.string().max(2000).default(''),
});

export const listRunsQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().optional(),
  kind: z.string().optional(),
  status: runStatusSchema.optional(),
  team: z.string().optional(),
  workspace: z.string().optional(),
  requestedBy: z.string().optional().describe('user id or email'),
});
export type ListRunsQuery = z.infer<typeof listRunsQuerySchema>;
