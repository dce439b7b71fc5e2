import { z } from 'zod';
import type { IntegrationTypeDefinition } from './types.ts';

const uuid = z.uuid();
const location = z.string().regex(/^[a-z][a-z0-9]{2,40}$/, 'an Azure location name such as westeurope');

/**
 * One Azure tenant's subscriptions, read by a service principal (an app registration) with its client
 * secret: OAuth 2.0 client credentials at `authorityHost`, Azure Resource Manager at `resourceManagerUrl`.
 * Both are overridable for a sovereign cloud (e.g. Azure Government) or a local test peer; the token's
 * scope is `<resourceManagerUrl>/.default`, as the Azure SDKs derive it.
 */
export const azureSettingsSchema = z.strictObject({
  tenantId: z.union([uuid, z.string().regex(/^[a-z0-9-]+(\.[a-z0-9-]+)+$/, 'a tenant id (uuid) or its domain')]).describe('the directory (tenant) id'),
  clientId: uuid.describe("the app registration's application (client) id"),
  subscriptions: z.array(uuid).min(1).max(50).refine((s) => new Set(s).size === s.length, 'a subscription is given twice').describe('the subscriptions scanned'),
  locations: z.array(location).min(1).max(60).refine((l) => new Set(l).size === l.length, 'a location is given twice').describe('the locations scanned (findings elsewhere are not reported)'),
  resourceManagerUrl: z.url({ protocol: /^https?$/ }).max(500).default('https://management.azure.com').describe('Azure Resource Manager; another cloud\'s (or a test peer\'s) when set'),
  authorityHost: z.url({ protocol: /^https?$/ }).max(500).default('https://login.microsoftonline.com').describe('the Microsoft Entra ID authority host'),
});
export const azureSecretsSchema = z.strictObject({
  clientSecret: z.string().min(8).max(1024).meta({ writeOnly: true }).describe("the app registration's client secret"),
});
export type AzureSettings = z.infer<typeof azureSettingsSchema>;
export type AzureSecrets = z.infer<typeof azureSecretsSchema>;

export const azureIntegration: IntegrationTypeDefinition<typeof azureSettingsSchema, typeof azureSecretsSchema> = {
  type: 'azure',
  title: 'Azure subscriptions',
  settingsSchema: azureSettingsSchema,
  secretsSchema: azureSecretsSchema,
  addresses: ['resourceManagerUrl', 'authorityHost'],
};
