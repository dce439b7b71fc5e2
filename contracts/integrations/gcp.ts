import { z } from 'zod';
import type { IntegrationTypeDefinition } from './types.ts';

const projectId = z.string().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, 'a project id such as acme-prod');

/** The fields of a service account's JSON key file a cost scan uses. */
export type ServiceAccountKey = { type: 'service_account'; client_email: string; private_key: string; token_uri: string };

/** The key file, parsed, or what is wrong with it. */
export function parseServiceAccountKey(text: string): { key: ServiceAccountKey } | { error: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { error: 'the service account key file as JSON' };
  }
  const k = parsed as Partial<ServiceAccountKey>;
  if (typeof k !== 'object' || k === null || k.type !== 'service_account') return { error: 'a key file with "type": "service_account"' };
  const missing = (['client_email', 'private_key', 'token_uri'] as const).filter((f) => typeof k[f] !== 'string' || !k[f]);
  if (missing.length) return { error: `the key file lacks ${missing.join(', ')}` };
  if (!k.private_key!.includes('PRIVATE KEY')) return { error: "the key file's private_key is not a PEM private key" };
  if (!z.url({ protocol: /^https?$/ }).safeParse(k.token_uri).success) return { error: "the key file's token_uri is not an http(s) URL" };
  return { key: k as ServiceAccountKey };
}

/**
 * Google Cloud projects read by a service account. The secret is the account's whole JSON key file:
 * its token_uri is where access tokens are asked for (OAuth 2.0 JWT bearer grant), so a test peer's or
 * a private endpoint's key file points there itself. Spend comes from the Cloud Billing export to
 * BigQuery (`billingTable`), the only per-day, per-service source of spend Google offers by API.
 */
export const gcpSettingsSchema = z.strictObject({
  projects: z.array(projectId).min(1).max(50).refine((p) => new Set(p).size === p.length, 'a project is given twice').describe('the projects scanned'),
  regions: z.array(z.string().regex(/^[a-z]+-[a-z]+\d{1,2}$/, 'a region such as europe-west1')).min(1).max(50)
    .refine((r) => new Set(r).size === r.length, 'a region is given twice').describe('the regions scanned (their zones included)'),
  billingTable: z.string().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]\.\w{1,1024}\.\w{1,1024}$/, 'project.dataset.table of the Cloud Billing export (standard usage cost)')
    .describe('the BigQuery table the billing account exports to; the query runs in its project'),
  computeUrl: z.url({ protocol: /^https?$/ }).max(500).default('https://compute.googleapis.com').describe('Compute Engine API'),
  monitoringUrl: z.url({ protocol: /^https?$/ }).max(500).default('https://monitoring.googleapis.com').describe('Cloud Monitoring API'),
  bigqueryUrl: z.url({ protocol: /^https?$/ }).max(500).default('https://bigquery.googleapis.com').describe('BigQuery API'),
});
export const gcpSecretsSchema = z.strictObject({
  serviceAccountKey: z.string().min(100).max(10_000)
    .superRefine((text, ctx) => {
      const parsed = parseServiceAccountKey(text);
      if ('error' in parsed) ctx.addIssue({ code: 'custom', message: parsed.error });
    })
    .meta({ writeOnly: true, description: "the service account's JSON key file, whole" }),
});
export type GcpSettings = z.infer<typeof gcpSettingsSchema>;
export type GcpSecrets = z.infer<typeof gcpSecretsSchema>;

export const gcpIntegration: IntegrationTypeDefinition<typeof gcpSettingsSchema, typeof gcpSecretsSchema> = {
  type: 'gcp',
  title: 'Google Cloud projects',
  settingsSchema: gcpSettingsSchema,
  secretsSchema: gcpSecretsSchema,
  addresses: ['computeUrl', 'monitoringUrl', 'bigqueryUrl'],
};
