import { z } from 'zod';
import { credentialedUrl } from './endpoint-url.ts';
import type { IntegrationIssue, IntegrationTypeDefinition } from './types.ts';
import { pemSchema } from './pem.ts';

/**
 * A Kubernetes API server, as one context of a kubeconfig: the server URL and the CA that signed it,
 * a bearer token (a ServiceAccount's) or a client certificate, and the default namespace.
 * Plain http:// is accepted for loopback only (`kubectl proxy` serves that way).
 */
export const kubernetesSettingsSchema = z.strictObject({
  server: credentialedUrl('an https:// API server URL')
    .describe('the API server, as `server:` in a kubeconfig cluster'),
  caCert: pemSchema('CERTIFICATE').optional().describe('the cluster CA (certificate-authority-data, decoded); else the system CAs'),
  namespace: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'a Kubernetes namespace name')
    .default('default')
    .describe('namespace used when a run names none'),
  context: z.string().trim().max(253).default('opssight').describe('the context name shown in errors'),
});

export const kubernetesSecretsSchema = z.strictObject({
  token: z.string().trim().min(1).max(16 * 1024).optional().meta({ description: 'bearer token (e.g. a ServiceAccount token)', writeOnly: true }),
  clientCert: pemSchema('CERTIFICATE').optional().meta({ description: 'client certificate (client-certificate-data, decoded)', writeOnly: true }),
  clientKey: pemSchema('PRIVATE KEY').optional().meta({ description: 'client key (client-key-data, decoded)', writeOnly: true }),
});

export type KubernetesSettings = z.infer<typeof kubernetesSettingsSchema>;
export type KubernetesSecrets = z.infer<typeof kubernetesSecretsSchema>;

function checkKubernetes(_settings: KubernetesSettings, secrets: KubernetesSecrets): IntegrationIssue[] {
  const issues: IntegrationIssue[] = [];
  if (!secrets.clientCert !== !secrets.clientKey) {
    issues.push({ path: ['secrets', secrets.clientCert ? 'clientKey' : 'clientCert'], message: 'a client certificate and its key go together' });
  }
  if (!secrets.token && !secrets.clientCert) issues.push({ path: ['secrets', 'token'], message: 'give a token or a client certificate and key' });
  return issues;
}

export const kubernetesIntegration: IntegrationTypeDefinition<typeof kubernetesSettingsSchema, typeof kubernetesSecretsSchema> = {
  type: 'kubernetes',
  title: 'Kubernetes cluster',
  settingsSchema: kubernetesSettingsSchema,
  secretsSchema: kubernetesSecretsSchema,
  addresses: ['server', 'caCert'],
  check: checkKubernetes,
};
