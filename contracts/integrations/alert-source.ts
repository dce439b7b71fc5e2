import { z } from 'zod';
import type { IntegrationTypeDefinition } from './types.ts';

/**
 * Something that sends alerts (Alertmanager, Grafana, a script): its token authenticates the ingest
 * routes (`?source=<integration id>` plus `Authorization: Bearer <token>`), and its settings say which
 * escalation policy its alerts follow.
 */
export const alertSourceSettingsSchema = z.strictObject({
  policy: z.uuid().optional().describe("escalation policy for this source's alerts; the team's default policy when absent"),
});
export const alertSourceSecretsSchema = z.strictObject({
  token: z.string().min(32, 'at least 32 characters').max(256).meta({ description: 'bearer token the source sends', writeOnly: true }),
});
export type AlertSourceSettings = z.infer<typeof alertSourceSettingsSchema>;

export const alertSourceIntegration: IntegrationTypeDefinition<typeof alertSourceSettingsSchema, typeof alertSourceSecretsSchema> = {
  type: 'alert-source',
  title: 'Alert source',
  settingsSchema: alertSourceSettingsSchema,
  secretsSchema: alertSourceSecretsSchema,
};
