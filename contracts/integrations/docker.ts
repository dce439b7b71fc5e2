import { z } from 'zod';
import type { IntegrationIssue, IntegrationTypeDefinition } from './types.ts';
import { pemSchema } from './pem.ts';

/**
 * A Docker Engine API endpoint (Docker, or podman's `podman system service`): a unix socket on the
 * worker's host, or a TCP address, with TLS client certificates when the daemon asks for them
 * (dockerd --tlsverify). Reached through dockerode.
 */
export const dockerSettingsSchema = z.strictObject({
  endpoint: z
    .string()
    .trim()
    .max(1024)
    .regex(/^(unix:\/\/\/\S+|tcp:\/\/[A-Za-z0-9.-]+:\d{1,5})$/, 'unix:///path/to/docker.sock or tcp://host:port')
    .describe('unix:///var/run/docker.sock, or tcp://host:2376 for a remote daemon'),
  tls: z.boolean().default(false).describe('TCP only: talk TLS and present the client certificate'),
  caCert: pemSchema('CERTIFICATE').optional().describe('TLS: the CA that signed the daemon\'s certificate (else the system CAs)'),
});

export const dockerSecretsSchema = z.strictObject({
  clientCert: pemSchema('CERTIFICATE').optional().meta({ description: 'TLS client certificate (cert.pem)', writeOnly: true }),
  clientKey: pemSchema('PRIVATE KEY').optional().meta({ description: 'TLS client key (key.pem)', writeOnly: true }),
});

export type DockerSettings = z.infer<typeof dockerSettingsSchema>;
export type DockerSecrets = z.infer<typeof dockerSecretsSchema>;

function checkDocker(settings: DockerSettings, secrets: DockerSecrets): IntegrationIssue[] {
  const issues: IntegrationIssue[] = [];
  const unix = settings.endpoint.startsWith('unix://');
  if (unix && settings.tls) issues.push({ path: ['settings', 'tls'], message: 'TLS is for tcp:// endpoints; a unix socket is local' });
  if (!settings.tls) {
    for (const key of ['clientCert', 'clientKey'] as const) {
      if (secrets[key]) issues.push({ path: ['secrets', key], message: 'only used with tls: true' });
    }
    if (settings.caCert) issues.push({ path: ['settings', 'caCert'], message: 'only used with tls: true' });
  }
  if (!secrets.clientCert !== !secrets.clientKey) {
    issues.push({ path: ['secrets', secrets.clientCert ? 'clientKey' : 'clientCert'], message: 'a client certificate and its key go together' });
  }
  return issues;
}

export const dockerIntegration: IntegrationTypeDefinition<typeof dockerSettingsSchema, typeof dockerSecretsSchema> = {
  type: 'docker',
  title: 'Docker host',
  settingsSchema: dockerSettingsSchema,
  secretsSchema: dockerSecretsSchema,
  addresses: ['endpoint', 'caCert'],
  check: checkDocker,
};
