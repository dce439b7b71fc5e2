import { z } from 'zod';
import type { IntegrationTypeDefinition } from './types.ts';

/** An SMTP relay for escalation email; `to` is for a channel step (a list), people steps use accounts' addresses. */
export const smtpSettingsSchema = z.strictObject({
  host: z.string().trim().min(1).max(253),
  port: z.number().int().min(1).max(65535).default(587),
  secure: z.boolean().default(false).describe('TLS from the first byte (port 465); otherwise STARTTLS when offered'),
  from: z.email().describe('sender address'),
  to: z.array(z.email()).max(50).default([]).describe('recipients when used as a channel step'),
  username: z.string().max(200).optional(),
});
export const smtpSecretsSchema = z.strictObject({
  password: z.string().min(1).max(1000).optional().meta({ writeOnly: true }),
});
export type SmtpSettings = z.infer<typeof smtpSettingsSchema>;

export const smtpIntegration: IntegrationTypeDefinition<typeof smtpSettingsSchema, typeof smtpSecretsSchema> = {
  type: 'smtp',
  title: 'Email (SMTP)',
  settingsSchema: smtpSettingsSchema,
  secretsSchema: smtpSecretsSchema,
  addresses: ['host'],
  check: (settings, secrets) => (settings.username && !secrets.password ? [{ path: ['secrets', 'password'], message: 'a username needs a password' }] : []),
};
