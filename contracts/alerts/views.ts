import { z } from 'zod';
import { teamSlugSchema } from '../teams.ts';
import { ALERT_SEVERITIES, ALERT_STATUSES } from './ingest.ts';

export const alertViewSchema = z.object({
  id: z.uuid(),
  team: z.string(),
  source: z.object({ id: z.string(), name: z.string() }).nullable(),
  dedupKey: z.string(),
  status: z.enum(ALERT_STATUSES),
  severity: z.enum(ALERT_SEVERITIES),
  summary: z.string(),
  details: z.record(z.string(), z.unknown()),
  labels: z.record(z.string(), z.string()),
  count: z.number().int().describe('how many times the source sent it while open'),
  policy: z.object({ id: z.string(), version: z.number().int() }).nullable().describe('the escalation policy version it escalates by'),
  firstSeenAt: z.string(),
  lastSeenAt: z.string(),
  acknowledgedAt: z.string().nullable(),
  acknowledgedBy: z.string().nullable(),
  resolvedAt: z.string().nullable(),
  resolvedBy: z.string().nullable(),
});
export type AlertView = z.infer<typeof alertViewSchema>;

export const timelineEntrySchema = z.object({ at: z.string(), type: z.string(), message: z.string(), data: z.record(z.string(), z.unknown()).nullable() });
export const notificationAttemptViewSchema = z.object({
  at: z.string(),
  key: z.string().describe('which notification of the chain (cycle.round.step.target)'),
  attempt: z.number().int(),
  channel: z.string(),
  target: z.string(),
  status: z.enum(['sent', 'failed', 'skipped']),
  providerId: z.string().nullable(),
  error: z.string().nullable(),
  latencyMs: z.number().int(),
});
export type NotificationAttemptView = z.infer<typeof notificationAttemptViewSchema>;
export const alertDetailSchema = alertViewSchema.extend({ timeline: z.array(timelineEntrySchema), notifications: z.array(notificationAttemptViewSchema) });
export type AlertDetail = z.infer<typeof alertDetailSchema>;

export const listAlertsQuerySchema = z.strictObject({
  team: teamSlugSchema.optional(),
  status: z.enum(ALERT_STATUSES).optional(),
  severity: z.enum(ALERT_SEVERITIES).optional(),
  dedupKey: z.string().max(255).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  before: z.iso.datetime({ offset: true }).optional().describe('only alerts first seen before this time (the previous page’s nextBefore)'),
});
export const alertListSchema = z.object({ alerts: z.array(alertViewSchema), nextBefore: z.string().nullable() });
export const alertPathSchema = z.object({ id: z.uuid() });
export const alertActionRequestSchema = z.strictObject({ note: z.string().max(500).optional() });
export const ackLinkQuerySchema = z.strictObject({ token: z.string().min(20).max(600).regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, 'not a link this platform issued') });
