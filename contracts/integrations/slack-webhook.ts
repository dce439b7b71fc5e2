import { z } from 'zod';
import type { IntegrationTypeDefinition } from './types.ts';

/**
 * A Slack incoming webhook (an app's "Add New Webhook to Workspace"): escalations are posted to the one
 * channel Slack tied the webhook to, with the same text as the `slack` integration. The URL is the only
 * credential, so it is kept as a secret. Buttons need the app's interactivity: with its signing secret
 * the message carries Acknowledge / Resolve, and the app's Request URL is
 * `<PUBLIC_URL>/api/v1/alerts/slack/actions?source=<this integration's id>`; without one the message is
 * plain (legacy custom-integration webhooks cannot carry interactive messages at all).
 */
export const slackWebhookSettingsSchema = z.strictObject({
  channel: z.string().trim().min(1).max(200).optional().describe('the channel the webhook posts to, as a reminder: Slack fixed it when the webhook was made'),
});
export const slackWebhookSecretsSchema = z.strictObject({
  webhookUrl: z.url({ protocol: /^https?$/ }).max(500).meta({ description: 'the incoming webhook URL, https://hooks.slack.com/services/…; anyone who has it can post', writeOnly: true }),
  signingSecret: z.string().min(16).max(200).optional().meta({ description: "the app's signing secret: give it (and enable interactivity) for Acknowledge / Resolve buttons", writeOnly: true }),
});
export type SlackWebhookSettings = z.infer<typeof slackWebhookSettingsSchema>;
export type SlackWebhookSecrets = z.infer<typeof slackWebhookSecretsSchema>;

export const slackWebhookIntegration: IntegrationTypeDefinition<typeof slackWebhookSettingsSchema, typeof slackWebhookSecretsSchema> = {
  type: 'slack-webhook',
  title: 'Slack incoming webhook',
  settingsSchema: slackWebhookSettingsSchema,
  secretsSchema: slackWebhookSecretsSchema,
};
