import { WorkflowNotFoundError } from '@temporalio/common';
import type { EntityManager } from '@mikro-orm/postgresql';
import { kindNamed, kindNames } from '../../contracts/kinds/index.ts';
import { isTerminal, type RunView } from '../../contracts/runs.ts';
import { decisionSignal } from '../../contracts/temporal.ts';
import { approvalReaches, assertCan, can, type Principal } from '../../core/access.ts';
import { ConflictError, InputError, NotAllowedError, NotFoundError } from '../../core/errors.ts';
import { publishRunChange, type RunChange } from '../../core/run-events.ts';
import type { Run } from '../../db/entities/index.ts';
import { recordAudit, runStarter } from '../../db/repositories/audit.ts';
import { UnknownIntegrationError } from '../../db/repositories/integrations.ts';
import { TargetBusyError, claimCancel, findActiveRunOn, findRun, toRunView } from '../../db/repositories/runs.ts';
import { autoApprovalFor, startRunWorkflow } from '../../core/run-start.ts';
import { settingsOf } from '../../db/repositories/teams.ts';
import type { AppDeps } from '../context.ts';
import { teamBySlug } from './team-list.ts';
import { inputErrorFrom } from '../middleware/errors.ts';

type Caller = { principal: Principal; ip: string };

const actor = (c: Caller) => ({ id: c.principal.id, email: c.principal.email });

/** Live announcements are the fast path: the change is already recorded, so a Redis outage must not fail the request. */
async function announce(deps: AppDeps, change: RunChange): Promise<void> {
  await publishRunChange(deps.redis, deps.keys, change).catch((err: unknown) => deps.logger.warn({ err, runId: change.id }, 'announcing a run change failed'));
}

/**
 * Validates the request, checks the caller may start the kind on the team (and may skip its approval
 * when the params ask to), then starts the run (core/run-start.ts). A second active run on the team's
 * target is a 409 that names the busy run only to a caller who may see it.
 */
export async function startRun(
  deps: AppDeps,
  em: EntityManager,
  caller: Caller,
  body: { kind: string; team: string; params: Record<string, unknown> },
  rerunOf?: string,
): Promise<RunView> {
  const kind = kindNamed(body.kind);
  if (!kind) throw new InputError('unknown kind', [{ field: 'kind', message: `must be one of: ${kindNames().join(', ')}` }]);
  // Input first: whether it is valid says nothing about the team, which may be one the caller cannot see.
  const parsed = kind.parse(body.params);
  if (!parsed.ok) throw inputErrorFrom(parsed.error, 'params');
  const team = await teamBySlug(deps, () => em, body.team);
  if (!team) throw new NotFoundError('team not found');
  assertCan(caller.principal, team.id, `runs:start:${kind.kind}`, 'team');
  const autoApprove = parsed.value.params.autoApply === true ? autoApprovalFor(caller.principal, team, kind.kind) : undefined;
  const requester = { type: 'user' as const, id: caller.principal.id, label: caller.principal.email };
  try {
    const run = await startRunWorkflow(deps, em, {
      kind,
      team,
      parsed: parsed.value,
      requester,
      audit: { actor: actor(caller), ip: caller.ip },
      ...(autoApprove ? { autoApprove } : {}),
      ...(rerunOf ? { rerunOf } : {}),
    });
    // The run's team reference is not loaded (the team came from the cache): its slug is known here.
    return { ...toRunView(run), team: team.slug, lastSeq: 1 };
  } catch (err) {
    if (err instanceof UnknownIntegrationError) {
      throw new InputError('the params name integrations of another team, or none', err.ids.map((id) => ({ field: 'params', message: `${id} is not an integration of ${team.slug}` })));
    }
    if (!(err instanceof TargetBusyError)) throw err;
    const target = err.target;
    // The busy run's id only for a caller who may read it: another team's run does not exist for them.
    const activeRun = await findActiveRunOn(em.fork(), team.id, kind.kind, target).then((runId) => (runId ? findRun(em.fork(), runId) : null));
    const activeRunId = activeRun && can(caller.principal, activeRun.team.id, 'runs:read') ? activeRun.id : null;
    throw new ConflictError(`${target} already has an active ${kind.kind} run${activeRunId ? ` (${activeRunId})` : ''}`, { activeRunId });
  }
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

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Loads a run the caller may act on: another team's run is a 404, a visible one without `permission` a 403. */
export async function runFor(em: EntityManager, principal: Principal, id: string, permission: Parameters<typeof assertCan>[2]): Promise<Run> {
  const run = UUID.test(id) ? await findRun(em, id) : null;
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
  request: { comment: string; waitingSince?: Date | undefined },
): Promise<RunView> {
  const { comment, waitingSince } = request;
  const run = await runFor(em, caller.principal, id, 'runs:read');
  // The gate of the run's kind, and (custom roles) only for the targets the approver is limited to.
  assertCan(caller.principal, run.team.id, `runs:approve:${run.kind}`);
  if (!approvalReaches(caller.principal, run.team.id, run.target ? [run.target] : [])) {
    throw new NotAllowedError(`your role may approve only some targets, and not ${run.target ?? 'runs without a target'}`);
  }
  // Four-eyes: whoever started the run may still reject it, never approve it; a schedule's runs are
  // started by its author (the person it runs as).
  if (decision === 'approve' && settingsOf(run.team).fourEyes) {
    const starter = run.requester.type === 'user' ? run.requester.id : await runStarter(em, run.id);
    if (starter === caller.principal.id) throw new NotAllowedError('four-eyes is on for this team: a run must be approved by someone other than the person who started it');
  }
  const approval = {
    decision: decision === 'approve' ? ('approved' as const) : ('rejected' as const),
    by: caller.principal.id,
    byEmail: caller.principal.email,
    comment,
    at: new Date().toISOString(),
  };
  await em.transactional(async (tx) => {
    // A wait the caller names must be the one the run is in: a decision made on one plan's summary never
    // answers the next plan's wait (after a stale plan the run plans again and waits anew).
    const claimed = await tx.execute<{ id: string }[]>(
      `update runs set approval = ?::jsonb, updated_at = now()
        where id = ? and status = 'awaiting_approval' and approval is null and (?::timestamptz is null or waiting_since = ?::timestamptz)
        returning id`,
      [JSON.stringify(approval), run.id, waitingSince ?? null, waitingSince ?? null],
    );
    if (claimed.length === 0) throw await unclaimed(tx, run.id, waitingSince);
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

/** Why a decision found nothing to claim, from the row as it is now (not as the request first read it). */
async function unclaimed(em: EntityManager, id: string, waitingSince: Date | undefined): Promise<ConflictError> {
  const [row] = await em.execute<{ status: string; waiting_since: Date | null; approval: unknown }[]>(
    `select status, waiting_since, approval from runs where id = ?`,
    [id],
  );
  const status = row?.status ?? 'gone';
  if (status === 'awaiting_approval' && !row?.approval && waitingSince && row?.waiting_since) {
    const now = new Date(row.waiting_since).toISOString();
    return new ConflictError(
      `the run has planned again and waits on a new summary since ${now}, not the one of ${waitingSince.toISOString()} you decided on: review the new summary and decide again`,
      { runStatus: status, waitingSince: now, errors: [{ field: 'waitingSince', message: 'not the wait the run is in' }] },
    );
  }
  return new ConflictError(`run is not awaiting approval (it is ${status})`, { runStatus: status });
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
  // Claimed with a conditional update, so of two requests at the same moment one records the cancel
  // (its audit row and event) and the other only sees it.
  const claimed = await em.transactional(async (tx) => {
    if (!(await claimCancel(tx, run.id, request))) return false;
    recordAudit(tx, { actor: actor(caller), action: force ? 'run.force_cancel' : 'run.cancel', resourceType: 'run', resourceId: run.id, teamId: run.team.id, ip: caller.ip });
    return true;
  });
  await em.refresh(run);
  if (!claimed && isTerminal(run.status)) throw new ConflictError(`run already ended (${run.status})`, { runStatus: run.status });
  if (!claimed) return toRunView(run);
  const message = force ? `force cancel requested by ${caller.principal.email}: the process is killed; its state may not be saved` : `cancel requested by ${caller.principal.email}`;
  await deps.events.append(run.id, [{ type: 'step', level: force ? 'warn' : 'info', message, data: { cancelRequest: request }, attempt: 0 }]);
  await announce(deps, { id: run.id, status: run.status, kind: run.kind, team: run.team.slug, target: run.target ?? null, step: run.step ?? null });
  return toRunView(run);
}
