import { z } from 'zod';

export const RUN_STATUSES = [
  'queued',
  'running',
  'awaiting_approval',
  'succeeded',
  'failed',
  'discarded',
  'cancelled',
  'timed_out',
] as const;
export const runStatusSchema = z.enum(RUN_STATUSES);
export type RunStatus = z.infer<typeof runStatusSchema>;

/** `discarded`: a person rejected the proposed change, so nothing was applied (neither success nor failure). */
export const TERMINAL_STATUSES: readonly RunStatus[] = ['succeeded', 'failed', 'discarded', 'cancelled', 'timed_out'];
export const isTerminal = (status: RunStatus): boolean => TERMINAL_STATUSES.includes(status);

export const planSummarySchema = z.object({
  add: z.number().int(),
  change: z.number().int(),
  destroy: z.number().int(),
});
export type PlanSummary = z.infer<typeof planSummarySchema>;

export const approvalSchema = z.object({
  decision: z.enum(['approved', 'rejected']),
  by: z.string(),
  byEmail: z.string(),
  comment: z.string(),
  at: z.string(),
});
export type Approval = z.infer<typeof approvalSchema>;

/**
 * Who asked to stop the run, and when. Set the moment the API accepts the request (the run shows
 * "cancelling" at once); `force` once someone asked to kill a process that did not stop gracefully.
 */
export const cancelRequestSchema = z.object({
  by: z.string(),
  byEmail: z.string(),
  at: z.string(),
  force: z.boolean(),
});
export type CancelRequest = z.infer<typeof cancelRequestSchema>;

/** Who asked for a run: a person, or the platform on behalf of a schedule, a webhook delivery or an alert. */
export const requesterSchema = z.object({
  type: z.enum(['user', 'schedule', 'webhook', 'alert']),
  id: z.string(),
  label: z.string().describe('what to show: an email, a schedule\'s name, an alert\'s title'),
});
export type Requester = z.infer<typeof requesterSchema>;

export const runSchema = z.object({
  id: z.uuid(),
  kind: z.string(),
  team: z.string().describe('team slug'),
  status: runStatusSchema,
  step: z.string().nullable(),
  target: z.string().nullable().describe('what the run acts on, e.g. the Terraform workspace'),
  params: z.record(z.string(), z.unknown()),
  summary: z.record(z.string(), z.unknown()).nullable(),
  approval: approvalSchema.nullable(),
  cancelRequest: cancelRequestSchema.nullable(),
  error: z.string().nullable(),
  requestedBy: z.object({ id: z.string(), email: z.string() }).nullable().describe('the person who started the run (null when the platform did)'),
  requester: requesterSchema,
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  waitingMs: z.number().int().describe('milliseconds spent awaiting approval, up to the response'),
  workingMs: z.number().int().describe('milliseconds from the first start to the end (or the response), less the waits for approval'),
  waitingSince: z.string().nullable().describe('set while the run awaits approval'),
  lastSeq: z.number().int(),
});
export type RunView = z.infer<typeof runSchema>;

export type RunField = keyof RunView;
export const RUN_FIELDS = Object.keys(runSchema.shape) as RunField[];

/**
 * `fields=`: comma-separated top-level fields of the run view to return; `id` always comes back.
 * Parsed to the list of names, or undefined for the whole view.
 */
const fieldNames = `(${RUN_FIELDS.join('|')})`;
/**
 * Exactly what is accepted, published as the parameter's pattern: names separated by commas, spaces
 * around them and empty entries allowed, at least one name. Spaces only (not every Unicode blank), so
 * the API and a client generating from the pattern agree on every string.
 */
const FIELDS_PATTERN = new RegExp(`^( *,)* *${fieldNames} *(, *${fieldNames}? *)*$`);

export const runFieldsSchema = z
  .string()
  .meta({ pattern: FIELDS_PATTERN.source })
  .optional()
  .transform((raw, ctx): RunField[] | undefined => {
    if (raw === undefined) return undefined;
    const names = raw.split(',').map((n) => n.trim()).filter(Boolean);
    if (!FIELDS_PATTERN.test(raw)) {
      const unknown = names.filter((n) => !(RUN_FIELDS as string[]).includes(n));
      const what = names.length === 0 ? 'name at least one field' : unknown.length > 0 ? `unknown field${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}` : 'separate names with commas';
      ctx.addIssue({ code: 'custom', message: `${what}; choose from ${RUN_FIELDS.join(', ')}` });
      return z.NEVER;
    }
    return ['id', ...new Set(names.filter((n) => n !== 'id'))] as RunField[];
  })
  .describe(`comma-separated top-level fields of each run to return (\`id\` always included); all when omitted. One of: ${RUN_FIELDS.join(', ')}`);

export const getRunQuerySchema = z.object({ fields: runFieldsSchema });

/** The view cut down to `fields` (the whole view when undefined). */
export function selectRunFields(view: RunView, fields: readonly RunField[] | undefined): Partial<RunView> {
  if (!fields) return view;
  return Object.fromEntries(fields.map((f) => [f, view[f]]));
}

export const startRunRequestSchema = z.object({
  kind: z.string().min(1),
  team: z.string().min(1).describe('team slug'),
  params: z.record(z.string(), z.unknown()),
});

export const decisionRequestSchema = z.object({
  comment: z.string().max(2000).default(''),
  waitingSince: z.iso
    .datetime({ offset: true })
    .pipe(z.coerce.date())
    .optional()
    .describe(
      'the run\'s `waitingSince` as shown with the summary you decided on. When given, the decision applies only to that wait: ' +
        'if the run has since gone back to a new plan and waits again (a stale Terraform plan), the answer is 409 and nothing is decided. ' +
        'The dashboard always sends it; when omitted, the decision applies to whatever the run is waiting on.',
    ),
});

export const cancelRequestBodySchema = z.object({
  force: z
    .boolean()
    .default(false)
    .describe('kill the run\'s process at once (after a graceful cancel did not stop it); the tool may leave its state unsaved'),
});

export const listRunsQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().regex(/^\d{1,13}\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'not a cursor this API issued').optional().describe('nextCursor of the previous page'),
  kind: z.string().optional(),
  status: runStatusSchema.optional(),
  team: z.string().optional(),
  target: z.string().max(255).optional().describe('what the runs act on, exactly (a Terraform workspace, a deploy target)'),
  workspace: z.string().max(255).optional().describe('Terraform\'s name for `target` (kept for existing clients)'),
  requestedBy: z.union([z.uuid(), z.email()]).optional().describe('user id or email'),
  q: z.string().trim().max(200).optional().describe('text search: every word must match the target, the starter\'s or approver\'s email, the error, or the start of the run id'),
  createdFrom: z.iso.datetime({ offset: true }).pipe(z.coerce.date()).optional().describe('runs created at or after this time (ISO 8601 date-time)'),
  createdTo: z.iso.datetime({ offset: true }).pipe(z.coerce.date()).optional().describe('runs created before this time (ISO 8601 date-time)'),
  fields: runFieldsSchema,
});
export type ListRunsQuery = z.infer<typeof listRunsQuerySchema>;
