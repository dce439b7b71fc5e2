import { z } from 'zod';
import type { IntegrationTypeDefinition } from './types.ts';

/**
 * A Slack app in a workspace: escalations are posted to `channel` with chat.postMessage, carrying
 * Acknowledge / Resolve buttons. The app's interactivity Request URL is
 * `<PUBLIC_URL>/api/v1/alerts/slack/actions?source=<this integration's id>`; each click is verified
 * with the app's signing secret.
 */
export const slackSettingsSchema = z.strictObject({
  channel: z.string().trim().min(1).max(200).describe('channel id or name, e.g. C0123456789 or #ops'),
  apiUrl: z.url({ protocol: /^https?$/ }).max(500).default('https://slack.com/api/').describe("Slack's Web API base URL (another one for GovSlack)"),
});
export const slackSecretsSchema = z.strictObject({
  botToken: z.string().regex(/^xox[bp]-[A-Za-z0-9-]+$/, 'a bot token, xoxb-…').max(500).meta({ writeOnly: true }),
  signingSecret: z.string().min(16).max(200).meta({ description: "the app's signing secret, to verify button clicks", writeOnly: true }),
});
export type SlackSettings = z.infer<typeof slackSettingsSchema>;
export type SlackSecrets = z.infer<typeof slackSecretsSchema>;

export const slackIntegration: IntegrationTypeDefinition<typeof slackSettingsSchema, typeof slackSecretsSchema> = {
  type: 'slack',
  title: 'Slack',
  settingsSchema: slackSettingsSchema,
  secretsSchema: slackSecretsSchema,
  addresses: ['apiUrl'],
};
