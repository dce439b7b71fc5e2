import type { z } from 'zod';

export type IntegrationIssue = { path: string[]; message: string };

/**
 * One kind of external system a team keeps credentials for, shaped like a run kind: `settings` are
 * stored and shown as they are; `secrets` are encrypted at rest and never leave the server.
 */
export type IntegrationTypeDefinition<Set extends z.ZodType = z.ZodType, Sec extends z.ZodType = z.ZodType> = {
  type: string;
  title: string;
  settingsSchema: Set;
  secretsSchema: Sec;
  /**
   * Settings that say where the secrets go (an API address, the CA trusted for it): a change to one
   * must come with the secrets, or whoever may edit the integration could send its stored credentials
   * to an address of their own.
   */
  addresses?: readonly string[];
  /** Rules that span settings and secrets (the secret a URL's transport needs). */
  check?: (settings: z.infer<Set>, secrets: z.infer<Sec>) => IntegrationIssue[];
};
