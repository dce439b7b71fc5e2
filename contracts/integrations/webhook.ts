import { z } from 'zod';
import type { IntegrationTypeDefinition } from './types.ts';

/**
 * A generic HTTP receiver. Each POST carries `X-OpsSight-Timestamp` and
 * `X-OpsSight-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<body>">` under the secret, so the
 * receiver can refuse forged and replayed deliveries.
 */
export const webhookSettingsSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/ }).max(2048),
});
export const webhookSecretsSchema = z.strictObject({
  signingSecret: z.string().min(16).max(256).meta({ writeOnly: true }),
});
export type WebhookSettings = z.infer<typeof webhookSettingsSchema>;

export const webhookIntegration: IntegrationTypeDefinition<typeof webhookSettingsSchema, typeof webhookSecretsSchema> = {
  type: 'webhook',
  title: 'Signed webhook',
  settingsSchema: webhookSettingsSchema,
  secretsSchema: webhookSecretsSchema,
};
