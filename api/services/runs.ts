import { WorkflowNotFoundError } from '@temporalio/common';
import type { EntityManager } from '@mikro-orm/postgresql';
import { KINDS } from '../../contracts/kinds/index.ts';
import { isTerminal, type RunView } from '../../contracts/runs.ts';
import { decisionSignal, type TerraformRunInput } from '../../contracts/temporal.ts';
import { assertCan, can, type Principal } from '../../core/access.ts';
import { ConflictError, InputError, NotFoundError } from '../../core/errors.ts';
import { publishRunChange } from '../../core/run-events.ts';
import { TeamSchema, type Run } from '../../db/entities/index.ts';
import { recordAudit } from '../../db/repositories/audit.ts';
import { TargetBusyError, findActiveRunOn, findRun, insertRun, toRunView, updateRunState } from '../../db/repositories/runs.ts';
import type { AppDeps } from '../context.ts';
import { inputErrorFrom } from '../middleware/errors.ts';

type Caller = { principal: Principal; ip: string };

const actor = (c: Caller) => ({ id: c.principal.id, email: c.principal.email });

/**
 * Validates, records the run (status queued) with its audit row in one transaction, then starts the
 * workflow with workflowId = run id. A second active run on the same target fails at insert (409).
 */
export async function startRun(
  deps: AppDeps,
  em: EntityManager,
  caller: Caller,
  body: { kind: string; team: string; params: Record<string, unknown> },
  rerunOf?: string,
): Promise<RunView> {
  const kind = KINDS[body.kind];
  if (!kind) {
    throw new InputError('unknown kind', [{ field: 'kind', message: `must be one of: ${Object.keys(KINDS).join(', ')}` }]);
  }
  const team = await em.findOne(TeamSchema, { slug: body.team });
  if (!team) throw new NotFoundError('team not found');
  assertCan(caller.principal, team.id, `runs:start:${kind.kind}`, 'team');
  const parsed = kind.paramsSchema.safeParse(body.params);
  if (!parsed.success) throw inputErrorFrom(parsed.error, 'params');
  const params = parsed.data as Record<string, unknown>;

  const id = crypto.randomUUID();
  const target = kind.target(params);
  let run: Run;
  try {
    run = await em.transactional(async (tx) => {
      recordAudit(tx, {
        actor: actor(caller),
        action: 'run.start',
        resourceType: 'run',
        resourceId: id,
        teamId: team.id,
        ip: caller.ip,
        data: { kind: kind.kind, target, ...(rerunOf ? { rerunOf } : {}) },
      });
      return insertRun(tx, { id, kind: kind.kind, teamId: team.id, userId: caller.principal.id, target, params });
    });
  } catch (err) {
    if (err instanceof TargetBusyError) {
      const activeRunId = await findActiveRunOn(em.fork(), kind.kind, target);
      throw new ConflictError(`${target} already has an active ${kind.kind} run${activeRunId ? ` (${activeRunId})` : ''}`, { activeRunId });
    }
    throw err;
  }

  // Before the workflow starts, so "queued" is always the run's first event.
  await deps.events.append(id, [
    {
      type: 'status',
      level: 'info',
      message: `queued by ${caller.principal.email}${rerunOf ? ` (re-run of ${rerunOf})` : ''}`,
      data: { status: 'queued', ...(rerunOf ? { rerunOf } : {}) },
      attempt: 0,
    },
  ]);
  const input: TerraformRunInput = {
    runId: id,
    teamId: team.id,
    params: parsed.data as TerraformRunInput['params'],
    // Only someone who may approve skips the approval gate; the workflow ignores autoApply without this.
    ...(params.autoApply === true && can(caller.principal, team.id, 'runs:approve')
      ? { autoApprove: { by: caller.principal.id, byEmail: caller.principal.email, reason: 'permission' as const } }
      : {}),
    approvalTimeoutMs: deps.config.APPROVAL_TIMEOUT_SECONDS * 1000,
    heartbeatTimeoutMs: deps.config.HEARTBEAT_TIMEOUT_SECONDS * 1000,
  };
  try {
    await deps.temporal.workflow.start(kind.workflowType, { taskQueue: kind.taskQueue, workflowId: id, args: [input] });
  } catch (err) {
    // The row must not claim a run that never started; it ends failed and frees its target.
    await updateRunState(em.fork(), id, { status: 'failed', error: 'the workflow could not be started' });
    throw err;
  }
  deps.metrics.runsStarted.inc({ kind: kind.kind });
  await publishRunChange(deps.redis, deps.keys, { id, status: 'queued', kind: kind.kind, team: team.slug, target, step: null });
  return { ...toRunView(run), lastSeq: 1 };
}

/**
 * Starts a new run with the inputs of run `id` (kind, team, params), as if the caller started it:
 * the same validation, permission and one-active-run-per-target rules apply.
 */
export async function rerun(deps: AppDeps, em: EntityManager, caller: Caller, id: string): Promise<RunView> {
  const source = await runFor(em, caller.principal, id, 'runs:read');
  const team = source.team as unknown as { slug: string };
  return startRun(deps, em, caller, { kind: source.kind, team: team.slug, params: source.params }, source.id);
}

/** Loads a run the caller may act on: another team's run is a 404, a visible one without `permission` a 403. */
export async function runFor(em: EntityManager, principal: Principal, id: string, permission: Parameters<typeof assertCan>[2]): Promise<Run> {
  const run = /^[0-9a-f-]{36}$/i.test(id) ? await findRun(em, id) : null;
  if (!run) throw new NotFoundError('run not found');
  assertCan(principal, run.team.id, permission);
  return run;
}

/**
 * Approve or reject. The decision is recorded on the run row at once — only if the run is waiting and
 * undecided, which the conditional UPDATE checks atomically (409 otherwise) — then delivered to the
 * workflow as a signal, which Temporal accepts even while no worker runs: the person is answered now and
 * the run goes on when a worker is there. A failed delivery rolls the decision back.
 */
export async function decide(
  deps: AppDeps,
  em: EntityManager,
  caller: Caller,
  id: string,
  decision: 'approve' | 'reject',
  comment: string,
): Promise<RunView> {
  const run = await runFor(em, caller.principal, id, 'runs:approve');
  const approval = {
    decision: decision === 'approve' ? ('approved' as const) : ('rejected' as const),
    by: caller.principal.id,
    byEmail: caller.principal.email,
    comment,
    at: new Date().toISOString(),
  };
  await em.transactional(async (tx) => {
    const claimed = await tx.execute<{ id: string }[]>(
      `update runs set approval = ?::jsonb, updated_at = now() where id = ? and status = 'awaiting_approval' and approval is null returning id`,
      [JSON.stringify(approval), run.id],
    );
    if (claimed.length === 0) throw new ConflictError(`run is not awaiting approval (it is ${run.status})`, { runStatus: run.status });
    recordAudit(tx, {
      actor: actor(caller),
      action: `run.${decision}`,
      resourceType: 'run',
      resourceId: run.id,
      teamId: run.team.id,
      ip: caller.ip,
      data: { comment },
    });
    await tx.flush();
    try {
      await deps.temporal.workflow.getHandle(run.id).signal(decisionSignal, { decision: approval.decision, userId: approval.by, email: approval.byEmail, comment });
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new ConflictError('run already ended', { runStatus: run.status });
      throw err;
    }
  });
  await em.refresh(run);
  return toRunView(run);
}

/**
 * Records who asked to stop the run on its row at once (the run shows "cancelling" before any worker
 * reacts), then asks Temporal to cancel the workflow: the running activity learns of it through its
 * heartbeat and stops its process gracefully (SIGINT). `force` is the second, explicit step for a
 * process that did not stop: the activity sees it on the row and kills the process group; the tool
 * may not have saved its state, which the run's events then say.
 */
export async function cancelRun(deps: AppDeps, em: EntityManager, caller: Caller, id: string, force = false): Promise<RunView> {
  const run = await runFor(em, caller.principal, id, 'runs:cancel');
  if (isTerminal(run.status)) throw new ConflictError(`run already ended (${run.status})`, { runStatus: run.status });
  if (force && !run.cancelRequest) throw new ConflictError('cancel the run first; force only stops a process that a cancel did not stop', { runStatus: run.status });
  if (!force && run.cancelRequest) return toRunView(run);
  const request = { by: caller.principal.id, byEmail: caller.principal.email, at: new Date().toISOString(), force };
  try {
    if (!force) await deps.temporal.workflow.getHandle(run.id).cancel();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new ConflictError('run already ended', { runStatus: run.status });
    throw err;
  }
  run.cancelRequest = request;
  recordAudit(em, {
    actor: actor(caller),
    action: force ? 'run.force_cancel' : 'run.cancel',
    resourceType: 'run',
    resourceId: run.id,
    teamId: run.team.id,
    ip: caller.ip,
  });
  await em.flush();
  const message = force ? `force cancel requested by ${caller.principal.email}: the process is killed; its state may not be saved` : `cancel requested by ${caller.principal.email}`;
  await deps.events.append(run.id, [{ type: 'step', level: force ? 'warn' : 'info', message, data: { cancelRequest: request }, attempt: 0 }]);
  await publishRunChange(deps.redis, deps.keys, { id: run.id, status: run.status, kind: run.kind, team: run.team.slug, target: run.target ?? null, step: run.step ?? null });
  return toRunView(run);
}
