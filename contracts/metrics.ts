import { z } from 'zod';
import { RUN_STATUSES } from './runs.ts';
import { teamSlugSchema } from './teams.ts';

export const metricsQuerySchema = z.strictObject({
  team: teamSlugSchema.optional(),
  days: z.coerce.number().int().min(1).max(90).default(14).describe('how many days back (UTC days, today included)'),
});
export type MetricsQuery = z.infer<typeof metricsQuerySchema>;

const status = z.enum(RUN_STATUSES);
export const platformMetricsSchema = z.object({
  since: z.string().describe('start of the first day counted'),
  byKindStatus: z.array(z.object({ kind: z.string(), status, runs: z.number().int() })).describe('runs created in the window, by kind and current status'),
  durations: z
    .array(z.object({ kind: z.string(), runs: z.number().int(), p50Ms: z.number(), p95Ms: z.number(), maxMs: z.number() }))
    .describe('runs that finished in the window: start to finish, minus the time spent waiting for approval'),
  perDay: z.array(z.object({ day: z.string(), kind: z.string(), runs: z.number().int(), failed: z.number().int() })).describe('runs created per UTC day and kind; failed counts failed and timed_out'),
  active: z.object({ queued: z.number().int(), running: z.number().int(), awaitingApproval: z.number().int() }).describe('now: the queue depth'),
});
export type PlatformMetrics = z.infer<typeof platformMetricsSchema>;
