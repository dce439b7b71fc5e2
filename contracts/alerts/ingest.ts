import { z } from 'zod';

export const ALERT_STATUSES = ['firing', 'acknowledged', 'resolved'] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];
export const ALERT_SEVERITIES = ['critical', 'error', 'warning', 'info'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

const labels = z.record(z.string().max(200), z.string().max(2000)).refine((l) => Object.keys(l).length <= 64, 'at most 64 labels');

/** The source's integration id and its token: every ingest route is authenticated by both. */
export const ingestQuerySchema = z.strictObject({
  source: z.uuid().describe('id of the alert-source integration; its token goes in `Authorization: Bearer`'),
});

/** One alert in OpsSight's own shape (POST /api/v1/alerts). */
export const genericAlertSchema = z.strictObject({
  dedupKey: z.string().min(1).max(255).describe('alerts with the same key while one is open are repeats of it'),
  status: z.enum(['firing', 'resolved']).default('firing'),
  summary: z.string().min(1).max(1000),
  severity: z.enum(ALERT_SEVERITIES).default('error'),
  details: z.record(z.string(), z.unknown()).optional().describe('anything the source wants shown with the alert'),
  labels: labels.optional(),
});
export type GenericAlert = z.infer<typeof genericAlertSchema>;

/** One alert of an Alertmanager notification (Grafana's webhook sends the same, with extras). */
export const alertmanagerAlertSchema = z.object({
  status: z.enum(['firing', 'resolved']),
  labels,
  annotations: labels.optional(),
  startsAt: z.string().max(64).optional(),
  endsAt: z.string().max(64).optional(),
  generatorURL: z.string().max(2000).optional(),
  fingerprint: z.string().min(1).max(255).optional(),
});

/**
 * Prometheus Alertmanager's webhook payload (version 4): one notification per group, each alert with
 * its own fingerprint and status. Extra fields Alertmanager may add later are tolerated.
 */
export const alertmanagerPayloadSchema = z.object({
  version: z.string().max(10).optional(),
  groupKey: z.string().max(2000).optional(),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string().max(500).optional(),
  externalURL: z.string().max(2000).optional(),
  alerts: z.array(alertmanagerAlertSchema).min(1).max(1000),
});
export type AlertmanagerPayload = z.infer<typeof alertmanagerPayloadSchema>;

export const ingestResultSchema = z.object({
  alerts: z.array(z.object({ id: z.uuid().nullable().describe('null when a resolve matched no open alert'), dedupKey: z.string(), outcome: z.enum(['opened', 'repeated', 'resolved', 'ignored']) })),
});
export type IngestOutcome = z.infer<typeof ingestResultSchema>['alerts'][number];
