import { z } from 'zod';
import type { IntegrationTypeDefinition } from './types.ts';

/**
 * Firebase Cloud Messaging (HTTP v1 API) with a service account: escalations are pushed as
 * notifications to `deviceTokens` (as a channel step) or to each person's own devices (a notify-people
 * step). The settings are the public half of the service account's key file (project_id,
 * client_email, token_uri); its private_key is the secret `serviceAccountKey` (`privateKey` is SSH key material's name).
 */
export const fcmSettingsSchema = z.strictObject({
  projectId: z.string().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, 'a Firebase project id (the key file’s project_id)'),
  clientEmail: z.email().max(320).describe("the service account's email (the key file's client_email)"),
  deviceTokens: z.array(z.string().regex(/^[A-Za-z0-9:_-]{8,4096}$/, 'a registration token')).max(50).default([]).describe('devices reached when used as a channel step'),
  tokenUri: z.url({ protocol: /^https?$/ }).max(500).default('https://oauth2.googleapis.com/token').describe("the key file's token_uri"),
  apiUrl: z.url({ protocol: /^https?$/ }).max(500).default('https://fcm.googleapis.com').describe("FCM's API base URL"),
});
export const fcmSecretsSchema = z.strictObject({
  serviceAccountKey: z.string().min(100).max(5000).includes('PRIVATE KEY', { message: "the key file's private_key, PEM" }).meta({ writeOnly: true }),
});
export type FcmSettings = z.infer<typeof fcmSettingsSchema>;
export type FcmSecrets = z.infer<typeof fcmSecretsSchema>;

export const fcmIntegration: IntegrationTypeDefinition<typeof fcmSettingsSchema, typeof fcmSecretsSchema> = {
  type: 'fcm',
  title: 'Firebase Cloud Messaging',
  settingsSchema: fcmSettingsSchema,
  secretsSchema: fcmSecretsSchema,
  addresses: ['tokenUri', 'apiUrl'],
};
