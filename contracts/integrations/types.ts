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
  /** Rules that span settings and secrets (the secret a URL's transport needs). */
  check?: (settings: z.infer<Set>, secrets: z.infer<Sec>) => IntegrationIssue[];
};
