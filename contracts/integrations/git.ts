import { z } from 'zod';
import type { IntegrationIssue, IntegrationTypeDefinition } from './types.ts';
import { hostKeysSchema, passphraseSchema, privateKeySchema } from './ssh-material.ts';

/** ssh://[user@]host[:port]/path or the scp-like user@host:path. */
const SSH_URL = /^(ssh:\/\/[^\s/]+\/\S+|[A-Za-z0-9_.-]+@[A-Za-z0-9_.-]+:(?!\/\/)\S+)$/;
const HTTPS_URL = /^https:\/\/[^\s/]+\/\S+$/;

/** How a repository URL is reached: over SSH with a key, or over HTTPS with a token. */
export const gitTransport = (url: string): 'ssh' | 'https' | null => (SSH_URL.test(url) ? 'ssh' : HTTPS_URL.test(url) ? 'https' : null);

export const gitSettingsSchema = z.strictObject({
  url: z
    .string()
    .trim()
    .max(2048)
    .refine((u) => gitTransport(u) !== null, 'must be an ssh://, user@host:path or https:// repository URL')
    // Settings are shown to every reader of the team's integrations: credentials belong in secrets.
    .refine((u) => !/^https:\/\/[^\s/]*@/.test(u), 'must not carry credentials (user:token@): put the token in secrets.token and the user in username')
    .describe('the repository: ssh://git@host/org/repo.git, git@host:org/repo.git or https://host/org/repo.git'),
  username: z.string().trim().min(1).max(200).optional().describe('HTTPS only: the user the token belongs to (default x-access-token)'),
  hostKeys: hostKeysSchema.default([]),
});

export const gitSecretsSchema = z.strictObject({
  privateKey: privateKeySchema.optional(),
  passphrase: passphraseSchema,
  token: z.string().trim().min(1).max(4096).optional().meta({ description: 'HTTPS access token', writeOnly: true }),
});

export type GitSettings = z.infer<typeof gitSettingsSchema>;
export type GitSecrets = z.infer<typeof gitSecretsSchema>;

/** The secret a URL's transport needs, and pinned host keys for SSH. */
function checkGit(settings: GitSettings, secrets: GitSecrets): IntegrationIssue[] {
  const issues: IntegrationIssue[] = [];
  if (gitTransport(settings.url) === 'ssh') {
    if (!secrets.privateKey) issues.push({ path: ['secrets', 'privateKey'], message: 'an ssh repository URL needs a private key' });
    if (secrets.token) issues.push({ path: ['secrets', 'token'], message: 'a token is for https:// URLs; this one is ssh' });
    if (settings.hostKeys.length === 0) issues.push({ path: ['settings', 'hostKeys'], message: 'pin at least one host key for an ssh repository URL' });
    if (settings.username) issues.push({ path: ['settings', 'username'], message: 'for https:// URLs only; put the ssh user in the URL' });
  } else {
    if (!secrets.token) issues.push({ path: ['secrets', 'token'], message: 'an https:// repository URL needs a token' });
    for (const key of ['privateKey', 'passphrase'] as const) {
      if (secrets[key]) issues.push({ path: ['secrets', key], message: 'for ssh repository URLs only; this one is https' });
    }
  }
  return issues;
}

export const gitIntegration: IntegrationTypeDefinition<typeof gitSettingsSchema, typeof gitSecretsSchema> = {
  type: 'git',
  title: 'Git repository',
  settingsSchema: gitSettingsSchema,
  secretsSchema: gitSecretsSchema,
  addresses: ['url'],
  check: checkGit,
};
