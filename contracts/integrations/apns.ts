import { z } from 'zod';
import type { IntegrationTypeDefinition } from './types.ts';

/**
 * Apple Push Notification service with token-based authentication (a .p8 signing key): escalations
 * are pushed as alerts to `deviceTokens` of the app `topic` (its bundle id).
 */
export const apnsSettingsSchema = z.strictObject({
  teamId: z.string().regex(/^[A-Z0-9]{10}$/, 'the 10-character Apple Developer team id'),
  keyId: z.string().regex(/^[A-Z0-9]{10}$/, "the signing key's 10-character id"),
  topic: z.string().trim().min(1).max(255).describe("the app's bundle id"),
  production: z.boolean().default(true).describe('api.push.apple.com when true, the sandbox otherwise'),
  deviceTokens: z.array(z.string().regex(/^[0-9a-f]{64,200}$/, 'a hex device token')).min(1).max(50),
  address: z.string().regex(/^[A-Za-z0-9.-]+(:\d{1,5})?$/, 'host[:port]').max(300).optional().describe('another APNs endpoint (host[:port]), e.g. a relay; Apple’s by default'),
  caPem: z.string().max(20_000).optional().describe('PEM certificates to trust for `address` instead of the system roots'),
});
export const apnsSecretsSchema = z.strictObject({
  signingKey: z.string().min(100).max(5000).includes('PRIVATE KEY', { message: 'the .p8 key, PEM' }).meta({ writeOnly: true }),
});
export type ApnsSettings = z.infer<typeof apnsSettingsSchema>;
export type ApnsSecrets = z.infer<typeof apnsSecretsSchema>;

export const apnsIntegration: IntegrationTypeDefinition<typeof apnsSettingsSchema, typeof apnsSecretsSchema> = {
  type: 'apns',
  title: 'Apple Push Notification service',
  settingsSchema: apnsSettingsSchema,
  secretsSchema: apnsSecretsSchema,
  addresses: ['address', 'caPem'],
};
