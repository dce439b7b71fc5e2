import { z } from 'zod';
import { credentialedUrl } from './endpoint-url.ts';
import type { IntegrationTypeDefinition } from './types.ts';

/**
 * A Jenkins controller, reached as a user with an API token (HTTP basic auth). Requests made with an
 * API token are exempt from Jenkins' CSRF crumbs, so none is fetched.
 */
export const jenkinsSettingsSchema = z.strictObject({
  url: credentialedUrl('an https:// URL')
    .describe('the controller\'s root URL, e.g. https://jenkins.example.com/'),
  user: z.string().trim().min(1).max(256).describe('the user the API token belongs to'),
});

export const jenkinsSecretsSchema = z.strictObject({
  apiToken: z.string().trim().min(1).max(1024).meta({ description: 'the user\'s API token (needs Job/Build, Job/Cancel and Job/Read on the jobs run)', writeOnly: true }),
});

export type JenkinsSettings = z.infer<typeof jenkinsSettingsSchema>;
export type JenkinsSecrets = z.infer<typeof jenkinsSecretsSchema>;

export const jenkinsIntegration: IntegrationTypeDefinition<typeof jenkinsSettingsSchema, typeof jenkinsSecretsSchema> = {
  type: 'jenkins',
  title: 'Jenkins',
  settingsSchema: jenkinsSettingsSchema,
  secretsSchema: jenkinsSecretsSchema,
  addresses: ['url'],
};
