import { z } from 'zod';
import type { IntegrationTypeDefinition } from './types.ts';

export const e164 = z.string().regex(/^\+[1-9]\d{6,14}$/, 'an E.164 phone number, e.g. +15551234567');

/**
 * A Twilio account sending escalations by SMS (Messages API) to `to` when used as a channel step.
 * Each page carries a short code; a reply "ACK <code>" comes back to
 * `<PUBLIC_URL>/api/v1/alerts/twilio/sms?source=<this integration's id>` (the number's messaging
 * webhook), verified with the account's auth token (X-Twilio-Signature).
 */
export const twilioSettingsSchema = z.strictObject({
  accountSid: z.string().regex(/^AC[0-9a-f]{32}$/, "the account's SID, AC followed by 32 hex digits"),
  from: e164.describe('the Twilio number messages are sent from (and replies come to)'),
  to: z.array(e164).min(1).max(50).describe('recipients when used as a channel step'),
  apiUrl: z.url({ protocol: /^https?$/ }).max(500).default('https://api.twilio.com').describe("Twilio's REST API base URL"),
});
export const twilioSecretsSchema = z.strictObject({
  authToken: z.string().regex(/^[0-9a-f]{32}$/, "the account's auth token (32 hex digits)").meta({ writeOnly: true }),
});
export type TwilioSettings = z.infer<typeof twilioSettingsSchema>;
export type TwilioSecrets = z.infer<typeof twilioSecretsSchema>;

export const twilioIntegration: IntegrationTypeDefinition<typeof twilioSettingsSchema, typeof twilioSecretsSchema> = {
  type: 'twilio',
  title: 'Twilio SMS',
  settingsSchema: twilioSettingsSchema,
  secretsSchema: twilioSecretsSchema,
  addresses: ['apiUrl'],
};
