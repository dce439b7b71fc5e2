import { z } from 'zod';
import { KINDS } from './kinds/index.ts';
import { teamSlugSchema } from './teams.ts';
import type { RunInput } from './temporal.ts';

/** What Temporal does when a fire comes while the schedule's previous run is still going. */
export const OVERLAP_POLICIES = ['skip', 'buffer-one', 'buffer-all', 'cancel-other', 'allow-all'] as const;
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number];

/** IANA zones as this runtime knows them (Temporal's own tz database agrees on the names). */
const TIME_ZONES = [...new Set(['UTC', ...Intl.supportedValuesOf('timeZone')])] as [string, ...string[]];

// Five fields (minute hour day-of-month month day-of-week), six or seven with seconds and year, or a
// shorthand (@daily, @hourly, …). Temporal parses it for real on create (its refusal is a 400 naming
// `spec`); this keeps obvious garbage out of the request.
const cronSchema = z
  .string()
  .max(200)
  .regex(/^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|[0-9A-Za-z*?/,#LW-]+( [0-9A-Za-z*?/,#LW-]+){4,6})$/, 'a cron expression: 5 fields (minute hour day month weekday), or @hourly, @daily, @weekly, @monthly, @yearly');

/**
 * Either cron times or a fixed interval, never both. One object rather than a union, so that each
 * mistake is a 400 naming its own field; api/openapi/schedules.ts publishes the choice as a oneOf.
 */
export const scheduleSpecSchema = z
  .strictObject({
    cron: z.array(cronSchema).min(1).max(10).optional().describe('fire at each of these cron times (in `timezone`)'),
    everySeconds: z.number().int().min(1).max(366 * 86_400).optional().describe('fire every N seconds'),
    offsetSeconds: z.number().int().min(0).max(366 * 86_400).optional().describe('with everySeconds: shift of the interval from the epoch (taken modulo everySeconds)'),
    timezone: z.enum(TIME_ZONES, { error: 'an IANA time zone, e.g. Europe/Berlin' }).default('UTC'),
    jitterSeconds: z.number().int().min(0).max(86_400).default(0).describe('each fire is delayed by a random 0..jitter seconds'),
  })
  .refine((s) => (s.cron === undefined) !== (s.everySeconds === undefined), { message: 'give exactly one of cron and everySeconds', path: ['cron'] })
  .refine((s) => s.offsetSeconds === undefined || s.everySeconds !== undefined, { message: 'offsetSeconds goes with everySeconds', path: ['offsetSeconds'] });
export type ScheduleSpecInput = z.infer<typeof scheduleSpecSchema>;

const nameSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}$/, 'letters, digits, space, ".", "_" and "-", 1 to 100 characters');
const noteSchema = z.string().max(500);
const kindName = z.enum(Object.keys(KINDS) as [string, ...string[]]);

export const createScheduleRequestSchema = z.strictObject({
  team: teamSlugSchema,
  name: nameSchema,
  kind: kindName,
  params: z.record(z.string(), z.unknown()).describe("the kind's params, as for POST /runs"),
  spec: scheduleSpecSchema,
  overlap: z.enum(OVERLAP_POLICIES).default('skip'),
  catchupWindowSeconds: z.number().int().min(10).max(366 * 86_400).default(3600).describe('fires missed while Temporal was unavailable are made up for within this window'),
  paused: z.boolean().default(false),
  note: noteSchema.optional(),
});
export type CreateScheduleRequest = z.infer<typeof createScheduleRequestSchema>;

export const updateScheduleRequestSchema = z
  .strictObject({
    name: nameSchema.optional(),
    params: z.record(z.string(), z.unknown()).optional(),
    spec: scheduleSpecSchema.optional(),
    overlap: z.enum(OVERLAP_POLICIES).optional(),
    catchupWindowSeconds: z.number().int().min(10).max(366 * 86_400).optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'give at least one field to change')
  .meta({ minProperties: 1 });

export const pauseRequestSchema = z.strictObject({ note: noteSchema.optional() });
export const schedulePathSchema = z.object({ id: z.uuid() });
export const listSchedulesQuerySchema = z.strictObject({ team: teamSlugSchema.optional() });

export const scheduleViewSchema = z.object({
  id: z.uuid(),
  team: z.string().describe('team slug'),
  name: z.string(),
  kind: z.string(),
  params: z.record(z.string(), z.unknown()),
  spec: z.object({ cron: z.array(z.string()).optional(), everySeconds: z.number().int().optional(), offsetSeconds: z.number().int().optional(), timezone: z.string(), jitterSeconds: z.number().int() }),
  overlap: z.enum(OVERLAP_POLICIES),
  catchupWindowSeconds: z.number().int(),
  paused: z.boolean(),
  note: z.string().nullable(),
  lastFire: z.object({ at: z.string(), runId: z.string().nullable(), skipped: z.string().nullable().describe('why the fire started no run') }).nullable(),
  createdBy: z.object({ id: z.string(), email: z.string() }).nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  nextFireTimes: z.array(z.string()).describe('the next few times it will fire (empty while paused)'),
  recent: z
    .array(z.object({ scheduledAt: z.string(), startedAt: z.string(), runId: z.string().nullable().describe('the run it started, once known') }))
    .describe('the latest fires, newest last'),
});
export type ScheduleView = z.infer<typeof scheduleViewSchema>;
export const scheduleListSchema = z.object({ schedules: z.array(scheduleViewSchema) });

/** What the launcher workflow a schedule fires is started with (the schedule's Temporal action). */
export type ScheduledRunInput = { scheduleId: string };
/** How one fire ended: a run started (and finished), or why none was. */
export type ScheduledRunResult = { outcome: 'started'; runId: string } | { outcome: 'skipped'; reason: string };

/** One fire, prepared: the run recorded and what its workflow starts with, or why no run was started. */
export type PreparedFire =
  | { outcome: 'ready'; runId: string; workflowType: string; taskQueue: string; input: RunInput }
  | { outcome: 'skipped'; reason: string };

/** The activities the launcher workflow calls (activities/schedules.ts). */
export type ScheduleFireActivities = {
  prepareScheduledRun(input: { scheduleId: string; fireId: string }): Promise<PreparedFire>;
  failUnstartedRun(input: { runId: string }): Promise<void>;
};
