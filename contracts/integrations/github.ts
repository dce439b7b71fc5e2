import { z } from 'zod';
import { credentialedUrl } from './endpoint-url.ts';
import type { IntegrationTypeDefinition } from './types.ts';

/**
 * GitHub (or GitHub Enterprise Server) for CI pipelines: the REST API root and a token that may
 * dispatch workflows (a fine-grained token with "Actions: read and write", or a classic PAT with
 * `repo`/`workflow`). The token's user is the `actor` of every run it dispatches, which is how a
 * retried dispatch recognises its own runs (docs/pipeline.md).
 */
export const githubSettingsSchema = z.strictObject({
  apiUrl: credentialedUrl('an https:// API URL')
    .default('https://api.github.com')
    .describe('the REST API root: https://api.github.com, or https://<host>/api/v3 for GitHub Enterprise Server'),
  owner: z
    .string()
    .regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/, 'a GitHub user or organisation name')
    .optional()
    .describe('when set, runs may only name repositories of this owner'),
});

export const githubSecretsSchema = z.strictObject({
  token: z.string().trim().min(1).max(1024).meta({ description: 'a fine-grained token (Actions: read and write) or a classic PAT with the workflow scope', writeOnly: true }),
});

export type GitHubSettings = z.infer<typeof githubSettingsSchema>;
export type GitHubSecrets = z.infer<typeof githubSecretsSchema>;

export const githubIntegration: IntegrationTypeDefinition<typeof githubSettingsSchema, typeof githubSecretsSchema> = {
  type: 'github',
  title: 'GitHub Actions',
  settingsSchema: githubSettingsSchema,
  secretsSchema: githubSecretsSchema,
  addresses: ['apiUrl'],
};
