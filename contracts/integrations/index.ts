import { z } from 'zod';
import { alertSourceIntegration } from './alert-source.ts';
import { awsIntegration } from './aws.ts';
import { azureIntegration } from './azure.ts';
import { dockerIntegration } from './docker.ts';
import { gitIntegration } from './git.ts';
import { kubernetesIntegration } from './kubernetes.ts';
import { pagerdutyIntegration } from './pagerduty.ts';
import { slackIntegration } from './slack.ts';
import { slackWebhookIntegration } from './slack-webhook.ts';
import { smtpIntegration } from './smtp.ts';
import { webhookIntegration } from './webhook.ts';
import { sshIntegration } from './ssh.ts';
import { twilioIntegration } from './twilio.ts';
import { apnsIntegration } from './apns.ts';
import { fcmIntegration } from './fcm.ts';
import { gcpIntegration } from './gcp.ts';
import { githubIntegration } from './github.ts';
import { jenkinsIntegration } from './jenkins.ts';
import type { IntegrationTypeDefinition } from './types.ts';

export type { IntegrationIssue, IntegrationTypeDefinition } from './types.ts';

/**
 * Every integration type, by name. A new external system (kubernetes, slack, …) is one more entry
 * here with its schemas; nothing else in the mechanism changes.
 */
export const INTEGRATION_TYPES = {
  ssh: sshIntegration,
  git: gitIntegration,
  'alert-source': alertSourceIntegration,
  smtp: smtpIntegration,
  webhook: webhookIntegration,
  slack: slackIntegration,
  'slack-webhook': slackWebhookIntegration,
  pagerduty: pagerdutyIntegration,
  docker: dockerIntegration,
  kubernetes: kubernetesIntegration,
  twilio: twilioIntegration,
  apns: apnsIntegration,
  fcm: fcmIntegration,
  aws: awsIntegration,
  azure: azureIntegration,
  gcp: gcpIntegration,
  github: githubIntegration,
  jenkins: jenkinsIntegration,
} satisfies Record<string, IntegrationTypeDefinition>;

export type IntegrationType = keyof typeof INTEGRATION_TYPES;
export const INTEGRATION_TYPE_NAMES = Object.keys(INTEGRATION_TYPES) as IntegrationType[];
export type SettingsOf<T extends IntegrationType> = z.infer<(typeof INTEGRATION_TYPES)[T]['settingsSchema']>;
export type SecretsOf<T extends IntegrationType> = z.infer<(typeof INTEGRATION_TYPES)[T]['secretsSchema']>;

export const integrationTypeOf = (type: string): IntegrationTypeDefinition | undefined =>
  (INTEGRATION_TYPES as Record<string, IntegrationTypeDefinition>)[type];

/** Settings and secrets of one type validated together; issues are reported on settings.* / secrets.*. */
export function integrationSchema(def: IntegrationTypeDefinition) {
  return z.object({ settings: def.settingsSchema, secrets: def.secretsSchema }).superRefine((value, ctx) => {
    for (const issue of def.check?.(value.settings, value.secrets) ?? []) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
  });
}

const name = z.string().trim().min(1).max(100).describe('unique within the team');
const object = z.record(z.string(), z.unknown());

export const createIntegrationRequestSchema = z.object({
  team: z.string().describe('team slug'),
  type: z.enum(INTEGRATION_TYPE_NAMES),
  name,
  settings: object.describe('validated by the schema of `type`'),
  secrets: object.describe('validated by the schema of `type`; encrypted at rest, never returned'),
});

export const updateIntegrationRequestSchema = z
  .object({
    name: name.optional(),
    settings: object.optional().describe('replaces all settings'),
    secrets: object.optional().describe('replaces all secrets; leave out to keep the stored ones'),
  })
  .refine((b) => b.name !== undefined || b.settings !== undefined || b.secrets !== undefined, { message: 'give at least one of name, settings, secrets' })
  // The refinement above, as the published JSON Schema says it.
  .meta({ minProperties: 1 });

export const listIntegrationsQuerySchema = z.object({
  team: z.string().optional().describe('team slug; every team the caller can see when absent'),
  type: z.enum(INTEGRATION_TYPE_NAMES).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z
    .string()
    .max(1024)
    .regex(/^[A-Za-z0-9_-]*\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'not a cursor this API issued')
    .optional()
    .describe('nextCursor of the previous page'),
});

/** What the API shows of an integration: metadata only, never secret material. */
export const integrationViewSchema = z.object({
  id: z.uuid(),
  team: z.string().describe('team slug'),
  type: z.enum(INTEGRATION_TYPE_NAMES),
  name: z.string(),
  settings: object,
  secretFields: z.array(z.string()).describe('which secrets are stored (their values are never returned)'),
  fingerprint: z.string().nullable().describe('SHA256:… fingerprint of the stored SSH key'),
  publicKey: z.string().nullable().describe('the OpenSSH public key of the stored private key, for authorized_keys'),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type IntegrationView = z.infer<typeof integrationViewSchema>;
export const integrationListSchema = z.object({ items: z.array(integrationViewSchema), nextCursor: z.string().nullable() });
