import { z } from 'zod';

const labels = z.record(z.string().max(200), z.string().max(2000)).refine((l) => Object.keys(l).length <= 64, 'at most 64 labels');

/**
 * Grafana unified alerting's webhook contact point payload (version "1"): one notification per alert
 * group, shaped like Alertmanager's with Grafana's extras (values, dashboard and panel links, title).
 * Fields Grafana may add later are tolerated.
 */
export const grafanaPayloadSchema = z.object({
  receiver: z.string().max(500).optional(),
  status: z.enum(['firing', 'resolved']),
  orgId: z.number().int().optional(),
  groupKey: z.string().max(2000).optional(),
  externalURL: z.string().max(2000).optional(),
  version: z.string().max(10).optional(),
  title: z.string().max(2000).optional(),
  truncatedAlerts: z.number().int().min(0).optional(),
  alerts: z
    .array(
      z.object({
        status: z.enum(['firing', 'resolved']),
        labels,
        annotations: labels.optional(),
        startsAt: z.string().max(64).optional(),
        endsAt: z.string().max(64).optional(),
        generatorURL: z.string().max(2000).optional(),
        fingerprint: z.string().min(1).max(255).optional(),
        silenceURL: z.string().max(2000).optional(),
        dashboardURL: z.string().max(2000).optional(),
        panelURL: z.string().max(2000).optional(),
        values: z.record(z.string().max(200), z.number().nullable()).nullable().optional(),
        valueString: z.string().max(10_000).optional(),
      }),
    )
    .min(1)
    .max(1000),
});
export type GrafanaPayload = z.infer<typeof grafanaPayloadSchema>;
