import { z } from 'zod';
import type { IntegrationTypeDefinition } from './types.ts';
import { hostKeysSchema, passphraseSchema, privateKeySchema } from './ssh-material.ts';

export const sshSettingsSchema = z.strictObject({
  user: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/, 'a login name: letters, digits, "_", "." and "-", at most 32 characters')
    .describe('the user to log in as'),
  hostKeys: hostKeysSchema.min(1, 'pin at least one host key: a connection to a host whose key is not pinned is refused'),
});

export const sshSecretsSchema = z.strictObject({
  privateKey: privateKeySchema,
  passphrase: passphraseSchema,
});

export const sshIntegration: IntegrationTypeDefinition<typeof sshSettingsSchema, typeof sshSecretsSchema> = {
  type: 'ssh',
  title: 'SSH login',
  settingsSchema: sshSettingsSchema,
  secretsSchema: sshSecretsSchema,
};
export type SshSettings = z.infer<typeof sshSettingsSchema>;
export type SshSecrets = z.infer<typeof sshSecretsSchema>;
