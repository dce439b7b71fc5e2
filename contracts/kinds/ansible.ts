import { z } from 'zod';
import { FAILURE_TYPES, TASK_QUEUES } from '../temporal.ts';
import { defineKind } from './kind.ts';
import { gitSourceSchema } from './source.ts';

const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$/;
const nameOf = (what: string) => z.string().regex(NAME, `a ${what} name: letters, digits, "_", "." and "-", at most 63 characters`);

/**
 * Variable names a run may set. The connection's (address, port, user, key, ssh options) come from
 * the inventory's hosts and their ssh integration, so that host keys are always checked against the
 * pins and the key is the integration's; other `ansible_*` variables (python interpreter, become) are the user's.
 */
const CONNECTION_VAR = /^ansible_(host|port|user|remote_user|connection|password|pass|private_key_file|ssh_.*|scp_.*|sftp_.*|control_path.*|host_key_checking|pipelining)$/i;
const varName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'not a valid variable name')
  .refine((n) => !CONNECTION_VAR.test(n), 'connection variables (ansible_host, ansible_user, ansible_ssh_*…) are set by OpsSight from the inventory and its ssh integration');
const vars = z.record(varName, z.unknown());

const hostSchema = z.strictObject({
  name: nameOf('host').describe('the host\'s inventory name (what --limit and the recap show)'),
  address: z
    .string()
    .max(253)
    .regex(/^[A-Za-z0-9][A-Za-z0-9.:-]*$/, 'a host name or IP address')
    .describe('host name or IP address to connect to'),
  port: z.number().int().min(1).max(65535).default(22),
  integration: z.uuid().describe('the team\'s ssh integration: login user, private key and pinned host keys'),
  vars: vars.default({}).describe('host variables'),
});

const groupSchema = z.strictObject({
  hosts: z.array(nameOf('host')).max(500).default([]),
  vars: vars.default({}),
});

/** A relative path inside the playbook directory (roles/x/tasks/main.yml, templates/a.j2). */
const filePath = z
  .string()
  .max(512)
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_./-]*$/, 'a relative path: letters, digits, "_", ".", "-" and "/"')
  .refine((p) => !p.split('/').some((s) => s === '' || s === '..' || s === '.'), 'a relative path without "..", "." or empty parts')
  .refine((p) => !p.startsWith('.opssight'), '.opssight is where OpsSight keeps the run\'s inventory and keys');

export const ansibleParamsSchema = z
  .object({
    inventory: z
      .strictObject({
        hosts: z.array(hostSchema).min(1, 'at least one host').max(500),
        groups: z.record(nameOf('group'), groupSchema).default({}),
      })
      .describe('the hosts to run on and their groups'),
    playbook: z.string().max(512 * 1024).optional().describe('the playbook as YAML (or give `files` with `entry`, or `source`)'),
    files: z
      .record(filePath, z.string().max(512 * 1024))
      .optional()
      .describe('files beside the playbook: path → text (roles/<role>/tasks/main.yml, templates/…, the playbook itself)'),
    source: gitSourceSchema.optional().describe('the playbook directory in a git repository (instead of `playbook`/`files`)'),
    entry: filePath.default('playbook.yml').describe('the playbook file to run, in `files` or the source directory (an inline `playbook` is written here)'),
    extraVars: vars.default({}).describe('extra variables (-e), highest precedence'),
    limit: z
      .string()
      .max(1024)
      .regex(/^[A-Za-z0-9_.:,!&*[\]-]+$/, 'an ansible host pattern: names, groups, ",", "!", "&", "*"')
      .optional()
      .describe('host pattern to restrict the run to (--limit)'),
    tags: z.array(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'a tag name')).max(50).default([]).describe('run only tasks with these tags (--tags)'),
    check: z.boolean().default(true).describe('first run the playbook with --check --diff and show what it would change before the approval'),
    autoApply: z.boolean().default(false).describe('run without waiting for approval (needs the permission or team setting)'),
  })
  .superRefine((p, ctx) => {
    const inline = p.playbook !== undefined || p.files !== undefined;
    if (inline === Boolean(p.source)) {
      ctx.addIssue({ code: 'custom', path: [inline ? 'source' : 'playbook'], message: inline ? 'give playbook/files or source, not both' : 'playbook, files or source is required' });
    }
    if (p.playbook !== undefined && p.files && Object.hasOwn(p.files, p.entry)) {
      ctx.addIssue({ code: 'custom', path: ['files', p.entry], message: `the inline playbook is written to ${p.entry}: give it in one place` });
    }
    if (p.playbook === undefined && p.files && !Object.hasOwn(p.files, p.entry)) {
      ctx.addIssue({ code: 'custom', path: ['entry'], message: `${p.entry} is not among files` });
    }
    const names = new Set<string>();
    p.inventory.hosts.forEach((h, i) => {
      if (names.has(h.name)) ctx.addIssue({ code: 'custom', path: ['inventory', 'hosts', i, 'name'], message: `${h.name} is given twice` });
      names.add(h.name);
    });
    for (const [group, g] of Object.entries(p.inventory.groups)) {
      if (names.has(group) || group === 'all' || group === 'ungrouped') ctx.addIssue({ code: 'custom', path: ['inventory', 'groups', group], message: `${group} cannot name a group` });
      g.hosts.forEach((h, i) => {
        if (!names.has(h)) ctx.addIssue({ code: 'custom', path: ['inventory', 'groups', group, 'hosts', i], message: `${h} is not among inventory.hosts` });
      });
    }
  })
  // The first refinement above, as the published JSON Schema says it.
  .meta({ anyOf: [{ required: ['playbook'] }, { required: ['files'] }, { required: ['source'] }] });
export type AnsibleParams = z.infer<typeof ansibleParamsSchema>;

export const ansibleKind = defineKind({
  kind: 'ansible',
  title: 'Ansible playbook',
  description: 'Runs a playbook with --check --diff on the inventory\'s hosts, waits for approval, then runs it for real; shows a per-host recap.',
  paramsSchema: ansibleParamsSchema,
  workflowType: 'ansibleRun',
  taskQueue: TASK_QUEUES.infra,
  // Plays on the same hosts may run side by side, as in AWX; a person limits them with `limit`.
  target: () => null,
  integrations: (p) => [...new Set([...p.inventory.hosts.map((h) => h.integration), ...(p.source?.integration ? [p.source.integration] : [])])],
  approval: 'always',
  summary: 'hosts',
});

/** One host's line of ansible's recap, and (when it failed) the task that failed and why. */
export type HostRecap = {
  ok: number;
  changed: number;
  failed: number;
  unreachable: number;
  skipped: number;
  rescued: number;
  ignored: number;
  failedTask?: string;
  message?: string;
};
export type AnsibleRecap = Record<string, HostRecap>;

/** The run summary of an Ansible run: the check run's recap, the real run's, the commit of a git source. */
export type AnsibleSummary = { check?: AnsibleRecap; recap?: AnsibleRecap; commit?: string };

export type AnsiblePlayResult = {
  recap: AnsibleRecap;
  /** The playbook's commit when it came from git. */
  commit: string | null;
  /** Hosts that failed or were unreachable, each with the task and message: what the run's error says. */
  problems: string[];
};

/** The ApplicationFailure type of an ansible-playbook that could not run the play (syntax error, unknown role). */
export const ANSIBLE_FAILED = FAILURE_TYPES.ansible;
