import { z } from 'zod';
import { alertmanagerAlertSchema, alertmanagerPayloadSchema } from './ingest.ts';


/**
 * Grafana unified alerting's webhook contact point payload (version "1"): one notification per alert
 * group, shaped like Alertmanager's with Grafana's extras (values, dashboard and panel links, title).
 * Fields Grafana may add later are tolerated.
 */
export const grafanaPayloadSchema = alertmanagerPayloadSchema.extend({
  orgId: z.number().int().optional(),
  title: z.string().max(2000).optional(),
  truncatedAlerts: z.number().int().min(0).optional(),
  alerts: z
    .array(
      alertmanagerAlertSchema.extend({
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
