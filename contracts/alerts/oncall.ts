import { z } from 'zod';
import { teamSlugSchema } from '../teams.ts';
import { editedVersionSchema } from './policies.ts';

const TIME_ZONES = [...new Set(['UTC', ...Intl.supportedValuesOf('timeZone')])] as [string, ...string[]];
const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a wall-clock time HH:MM');
const localDate = z.iso.date().describe('a calendar date in the layer’s time zone');

/**
 * One rotation: `users` take turns, each for `lengthDays` (1 daily, 7 weekly, anything for custom),
 * handing over at `handoffTime` wall-clock time in `timeZone` — so a handoff stays at 09:00 local
 * across DST changes, and that shift is an hour shorter or longer. `weekdays` (1 = Monday … 7 = Sunday,
 * local) restricts when the layer applies; a higher layer wins where it applies.
 */
export const rotationLayerSchema = z.strictObject({
  name: z.string().min(1).max(100),
  users: z.array(z.uuid()).min(1).max(100),
  rotation: z.enum(['daily', 'weekly', 'custom']),
  lengthDays: z.number().int().min(1).max(366).optional().describe('custom rotations only: days per turn'),
  handoffTime: hhmm.default('09:00'),
  timeZone: z.enum(TIME_ZONES, { error: 'an IANA time zone, e.g. Europe/Berlin' }).default('UTC'),
  start: localDate.describe('the day the first user’s first turn starts, at handoffTime'),
  weekdays: z.array(z.number().int().min(1).max(7)).min(1).max(7).optional(),
}).refine((l) => (l.rotation === 'custom') === (l.lengthDays !== undefined), { message: 'lengthDays goes with (and only with) a custom rotation', path: ['lengthDays'] });
export type RotationLayer = z.infer<typeof rotationLayerSchema>;

/** Someone standing in, above every layer (a swap is two overrides). */
export const overrideSchema = z.strictObject({ user: z.uuid(), from: z.iso.datetime({ offset: true }), to: z.iso.datetime({ offset: true }) })
  .refine((o) => Date.parse(o.to) > Date.parse(o.from), { message: 'must end after it starts', path: ['to'] });
export type Override = z.infer<typeof overrideSchema>;

export const scheduleBodySchema = z.strictObject({
  layers: z.array(rotationLayerSchema).min(1).max(10).describe('lowest first; a later layer wins where it applies'),
  overrides: z.array(overrideSchema).max(500).default([]),
});
const scheduleNameSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}$/, 'letters, digits, space, ".", "_" and "-", 1 to 100 characters');
export const createOnCallScheduleRequestSchema = scheduleBodySchema.extend({ team: teamSlugSchema, name: scheduleNameSchema });
/** The whole schedule as it is to be: name, layers and overrides (adding a layer or an override is a PUT of the list with it). */
export const updateOnCallScheduleRequestSchema = scheduleBodySchema.extend({ name: scheduleNameSchema, version: editedVersionSchema });
export const onCallPathSchema = z.object({ schedule: z.uuid() });
export const onCallNowQuerySchema = z.strictObject({ at: z.iso.datetime({ offset: true }).optional().describe('another instant than now') });
export const onCallRangeQuerySchema = z
  .strictObject({ from: z.iso.datetime({ offset: true }), to: z.iso.datetime({ offset: true }) })
  .refine((q) => Date.parse(q.to) > Date.parse(q.from) && Date.parse(q.to) - Date.parse(q.from) <= 93 * 86_400_000, { message: 'must be after from, at most 93 days later', path: ['to'] });

export const shiftSchema = z.object({ user: z.string().nullable(), from: z.string(), to: z.string(), layer: z.string().nullable().describe('the layer, or null for an override') });
export type Shift = z.infer<typeof shiftSchema>;
export const onCallNowSchema = z.object({ schedule: z.string(), at: z.string(), user: z.object({ id: z.string(), email: z.string() }).nullable(), layer: z.string().nullable() });
export const onCallRangeSchema = z.object({ schedule: z.string(), shifts: z.array(shiftSchema) });
export const onCallScheduleViewSchema = z.object({ id: z.string(), team: z.string(), name: z.string(), version: z.number().int().describe('raised by every change'), layers: z.array(rotationLayerSchema), overrides: z.array(overrideSchema) });
export type OnCallScheduleView = z.infer<typeof onCallScheduleViewSchema>;
export const listOnCallQuerySchema = z.strictObject({ team: teamSlugSchema.optional() });
export const onCallScheduleListSchema = z.object({ schedules: z.array(onCallScheduleViewSchema) });
