import { z } from 'zod';
import { TASK_QUEUES, type RunInput } from '../temporal.ts';
import { defineKind } from './kind.ts';

const hostSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'letters, digits, ".", "_" and "-", at most 63 characters')
    .describe('how the host is named in the output and the summary'),
  address: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,252}$/, 'a host name or IP address')
    .describe('host name or IP address to connect to'),
  port: z.number().int().min(1).max(65535).default(22),
  integration: z.uuid().describe('id of the team\'s ssh integration to log in with (user, key, pinned host keys)'),
});
export type SshHost = z.infer<typeof hostSchema>;

export const sshCommandParamsSchema = z.strictObject({
  hosts: z
    .array(hostSchema)
    .min(1, 'name at least one host')
    .max(500)
    .superRefine((hosts, ctx) => {
      const seen = new Set<string>();
      hosts.forEach((h, i) => {
        if (seen.has(h.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `host name ${h.name} is given twice` });
        seen.add(h.name);
      });
    })
    .describe('the hosts to run the command on: [{"name", "address", "port", "integration"}]'),
  command: z.string().min(1).max(64 * 1024).refine((c) => c.trim() !== '', 'the command is empty').describe('shell command, run by /bin/sh on each host'),
  parallel: z.number().int().min(1).max(100).default(10).describe('at most this many hosts at once'),
  requireApproval: z.boolean().default(false).describe('wait for a person to approve before running anything'),
  timeoutSeconds: z.number().int().min(1).max(7 * 24 * 3600).default(3600).describe('a host whose command runs longer is stopped and counted failed'),
});
export type SshCommandParams = z.infer<typeof sshCommandParamsSchema>;
export type SshCommandRunInput = RunInput<SshCommandParams>;

/** How one host's command ended; `exitCode` null when it never ran or never reported one. */
export type SshHostResult = { host: string; status: 'succeeded' | 'failed'; exitCode: number | null; error?: string };

/** The run summary: every host's result, in the order the params list them. */
export type SshCommandSummary = { hosts: SshHostResult[]; succeeded: number; failed: number; pending: number };

export const sshCommandKind = defineKind({
  kind: 'ssh-command',
  title: 'SSH command',
  description: 'Runs a shell command on a set of hosts over SSH, a few at a time, with host keys pinned by the team\'s ssh integrations.',
  paramsSchema: sshCommandParamsSchema,
  workflowType: 'sshCommandRun',
  taskQueue: TASK_QUEUES.infra,
  // Two commands on the same hosts may well be meant; nothing here is exclusive.
  target: () => null,
  integrations: (params) => [...new Set(params.hosts.map((h) => h.integration))],
  approval: 'optional',
  summary: 'hosts',
});
