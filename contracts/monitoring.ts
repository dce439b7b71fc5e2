import { z } from 'zod';
import { teamSlugSchema } from './teams.ts';

const name = z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'a monitor or check name');

export const monitoringQuerySchema = z.strictObject({ team: teamSlugSchema.optional(), monitor: name.optional() });
export const transitionsQuerySchema = z.strictObject({
  team: teamSlugSchema.optional(),
  monitor: name.optional(),
  check: name.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

export const checkStatusSchema = z.object({
  team: z.string(),
  monitor: z.string(),
  check: z.string(),
  type: z.string(),
  status: z.enum(['up', 'down', 'unknown']),
  since: z.string().describe('when the check entered this status'),
  consecutiveFailures: z.number().int(),
  lastCheckedAt: z.string(),
  lastRunId: z.string(),
  lastOk: z.boolean(),
  lastLatencyMs: z.number().int(),
  lastDetail: z.string(),
});
export const transitionSchema = z.object({
  team: z.string(),
  monitor: z.string(),
  check: z.string(),
  from: z.enum(['up', 'down', 'unknown']),
  to: z.enum(['up', 'down']),
  at: z.string(),
  runId: z.string(),
  detail: z.string(),
});
export const checkStatusListSchema = z.object({ checks: z.array(checkStatusSchema) });
export const transitionListSchema = z.object({ transitions: z.array(transitionSchema).describe('newest first') });
export type CheckStatusView = z.infer<typeof checkStatusSchema>;
export type TransitionView = z.infer<typeof transitionSchema>;
