import { z } from 'zod';
import type { IntegrationTypeDefinition } from './types.ts';

/** A PagerDuty service's Events API v2 integration: escalations are sent as `trigger` events. */
export const pagerdutySettingsSchema = z.strictObject({
  apiUrl: z.url({ protocol: /^https?$/ }).max(500).default('https://events.pagerduty.com').describe('Events API base URL (events.eu.pagerduty.com in the EU)'),
});
export const pagerdutySecretsSchema = z.strictObject({
  routingKey: z.string().regex(/^[A-Za-z0-9]{32}$/, "the service integration's 32-character routing key").meta({ writeOnly: true }),
});
export type PagerDutySettings = z.infer<typeof pagerdutySettingsSchema>;

export const pagerdutyIntegration: IntegrationTypeDefinition<typeof pagerdutySettingsSchema, typeof pagerdutySecretsSchema> = {
  type: 'pagerduty',
  title: 'PagerDuty (Events API v2)',
  settingsSchema: pagerdutySettingsSchema,
  secretsSchema: pagerdutySecretsSchema,
  addresses: ['apiUrl'],
};
