import { z } from 'zod';

/**
 * Configuration kept in git, as Atlantis, Spacelift and AWX users keep it: the worker clones `ref` of
 * `url` (with the team's `git` integration when the repository is private) and uses `path` in it.
 * The commit it ran is recorded in the run's summary.
 */
export const gitSourceSchema = z.strictObject({
  url: z
    .string()
    .max(2048)
    .regex(/^(https?:\/\/|ssh:\/\/|git:\/\/|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:)/, 'an https://, ssh://, git:// or user@host: repository URL')
    .describe('repository URL'),
  ref: z
    .string()
    .max(255)
    .regex(/^[A-Za-z0-9._/-]+$/, 'a branch, tag or commit')
    .refine((r) => !r.startsWith('-') && !r.includes('..'), 'a branch, tag or commit')
    .default('main')
    .describe('branch, tag or commit sha'),
  path: z
    .string()
    .max(1024)
    .regex(/^[A-Za-z0-9._/-]*$/, 'a directory inside the repository')
    .refine((p) => !p.split('/').includes('..') && !p.startsWith('/'), 'a directory inside the repository')
    .default('.')
    .describe('directory inside the repository'),
  integration: z.uuid().optional().describe('the team\'s git integration (SSH key or HTTPS token) for a private repository'),
});
export type GitSource = z.infer<typeof gitSourceSchema>;
