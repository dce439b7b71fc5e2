import { z } from 'zod';
import { FINDING_TYPES } from './kinds/cost-scan.ts';
import { runStatusSchema } from './runs.ts';
import { teamSlugSchema } from './teams.ts';

const amounts = z.record(z.string(), z.number());

export const costsQuerySchema = z.strictObject({
  team: teamSlugSchema.optional(),
  integration: z.uuid().optional().describe('one account (its aws, azure or gcp integration id)'),
  days: z.coerce.number().int().min(1).max(400).default(31).describe('how far back the trends reach'),
});

export const findingsQuerySchema = z.strictObject({
  team: teamSlugSchema.optional(),
  integration: z.uuid().optional(),
  status: z.enum(['open', 'resolved']).optional(),
  type: z.enum(FINDING_TYPES).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().regex(/^\d{1,13}\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'not a cursor this API issued').optional().describe('nextCursor of the previous page'),
});
export const findingPathSchema = z.object({ id: z.uuid() });

const totalsSchema = z.object({ currency: z.string(), monthToDate: z.number(), forecast: z.number(), budget: z.number().nullable(), byService: amounts, byTeam: amounts, byDay: amounts.describe('date (YYYY-MM-DD) → spend') });
const accountSchema = z.object({ id: z.uuid(), name: z.string() });

export const costOverviewSchema = z.object({
  latest: z.array(z.object({ team: z.string(), account: accountSchema, at: z.string(), runId: z.uuid(), totals: totalsSchema, openFindings: z.number().int(), estimatedMonthlySavings: z.number() })).describe('each account\'s latest scan'),
  trends: z.object({
    byDay: amounts.describe('daily spend of every account, from each account\'s latest scan'),
    byService: amounts,
    byTeam: amounts.describe('by the cost allocation tag the scans name'),
    byAccount: amounts.describe('month to date per account'),
    scans: z.array(z.object({ at: z.string(), account: z.string(), accountId: z.uuid(), monthToDate: z.number(), forecast: z.number(), estimatedMonthlySavings: z.number() })).describe('every scan in the window, oldest first'),
  }),
});

export const findingViewSchema = z.object({
  id: z.uuid(),
  team: z.string(),
  account: accountSchema,
  type: z.enum(FINDING_TYPES),
  region: z.string(),
  resourceId: z.string(),
  owner: z.string().nullable().describe('the resource\'s team tag'),
  detail: z.string(),
  monthlySavings: z.number(),
  status: z.enum(['open', 'resolved']),
  firstSeenAt: z.string(),
  lastSeenAt: z.string(),
  resolvedAt: z.string().nullable(),
  actionRunId: z.uuid().nullable().describe('the latest cost-action run started for it (from "fix" on)'),
  actionRunStatus: runStatusSchema.nullable().describe('that run\'s status: while it is active or has succeeded, the finding offers no second fix'),
  realisedMonthlySavings: z.number().nullable(),
  fixable: z.boolean().describe('a cost-action can fix it now: open, not an old snapshot (left to a person), and no action run of it waiting, running or succeeded'),
});
export const findingListSchema = z.object({ items: z.array(findingViewSchema), nextCursor: z.string().nullable() });
export type FindingView = z.infer<typeof findingViewSchema>;
export type CostOverview = z.infer<typeof costOverviewSchema>;
