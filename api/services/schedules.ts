import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import { UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/postgresql';
import { kindNamed } from '../../contracts/kinds/index.ts';
import type { CreateScheduleRequest, ScheduleView } from '../../contracts/schedules.ts';
import { assertCan, visibleTeamIds, type Principal } from '../../core/access.ts';
import { ConflictError, InputError, NotFoundError } from '../../core/errors.ts';
import { autoApprovalFor } from '../../core/run-start.ts';
import { fireWorkflowIdPrefix, runIdOfFire, temporalScheduleId, temporalScheduleOf } from '../../core/schedule-fires.ts';
import { ScheduleSchema, TeamSchema, UserSchema, type Schedule, type Team } from '../../db/entities/index.ts';
import { recordAudit } from '../../db/repositories/audit.ts';
import { foreignIntegrations } from '../../db/repositories/integrations.ts';
import { inputErrorFrom } from '../middleware/errors.ts';

type Caller = { principal: Principal; ip: string };
type Deps = { temporal: Client };
type ScheduleChange = { name?: string; params?: Record<string, unknown>; spec?: CreateScheduleRequest['spec']; overlap?: CreateScheduleRequest['overlap']; catchupWindowSeconds?: number };

const actor = (c: Caller) => ({ id: c.principal.id, email: c.principal.email });
const teamOf = (s: Schedule) => s.team as unknown as Team;
const NEXT_FIRES = 5;

/** The kind's params as a run would take them (the team's own integrations only), and the author's right to run them without approval. */
async function checkRunnable(em: EntityManager, caller: Caller, team: Team, kindName: string, params: Record<string, unknown>): Promise<void> {
  const kind = kindNamed(kindName);
  if (!kind) throw new InputError('unknown kind', [{ field: 'kind', message: 'not a kind this platform offers' }]);
  const parsed = kind.parse(params);
  if (!parsed.ok) throw inputErrorFrom(parsed.error, 'params');
  assertCan(caller.principal, team.id, `runs:start:${kind.kind}`, 'team');
  if (parsed.value.params.autoApply === true) autoApprovalFor(caller.principal, team, kind.kind);
  const foreign = await foreignIntegrations(em, team.id, parsed.value.integrations);
  if (foreign.length) throw new InputError('the params name integrations of another team, or none', foreign.map((id) => ({ field: 'params', message: `${id} is not an integration of ${team.slug}` })));
}

/**
 * Temporal refuses a spec it cannot parse (a cron field out of range, an unknown time zone): its client
 * throws a TypeError, its server gRPC INVALID_ARGUMENT (3). Either is the request's fault.
 */
const INVALID_ARGUMENT = 3;
function specError(err: unknown): InputError | null {
  const code = (err as { code?: number; cause?: { code?: number } }).cause?.code ?? (err as { code?: number }).code;
  if (!(err instanceof TypeError) && code !== INVALID_ARGUMENT) return null;
  return new InputError('Temporal could not use this schedule spec', [{ field: 'spec', message: (err as Error).message.replace(/^\d+ INVALID_ARGUMENT: /, '') }]);
}

function temporalOptions(s: Schedule) {
  return temporalScheduleOf({ id: s.id, spec: s.spec, overlap: s.overlap, catchupWindowSeconds: s.catchupWindowSeconds, taskQueue: kindNamed(s.kind)!.taskQueue });
}

async function saveUnique<T>(name: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof UniqueConstraintViolationException) throw new ConflictError(`the team already has a schedule named "${name}"`, { errors: [{ field: 'name', message: 'already taken' }] });
    throw err;
  }
}

/** The row and what Temporal says of it now; when Temporal cannot answer, the row alone. */
export async function toScheduleView(deps: Deps, s: Schedule): Promise<ScheduleView> {
  const described = await deps.temporal.schedule.getHandle(temporalScheduleId(s.id)).describe().catch(() => null);
  const prefix = fireWorkflowIdPrefix(s.id);
  const createdBy = s.createdBy as unknown as { id: string; email: string } | null;
  return {
    id: s.id,
    team: teamOf(s).slug,
    name: s.name,
    kind: s.kind,
    params: kindNamed(s.kind)?.shownParams(s.params) ?? s.params,
    spec: s.spec,
    overlap: s.overlap,
    catchupWindowSeconds: s.catchupWindowSeconds,
    paused: s.paused,
    note: s.note ?? null,
    lastFire: s.lastFireAt ? { at: s.lastFireAt.toISOString(), runId: s.lastRunId ?? null, skipped: s.lastSkip ?? null } : null,
    createdBy: createdBy ? { id: createdBy.id, email: createdBy.email } : null,
    createdAt: s.createdAt.toISOString(),
    updatedAt: s.updatedAt.toISOString(),
    nextFireTimes: s.paused ? [] : (described?.info.nextActionTimes ?? []).slice(0, NEXT_FIRES).map((d) => d.toISOString()),
    recent: (described?.info.recentActions ?? []).map((a) => ({
      scheduledAt: a.scheduledAt.toISOString(),
      startedAt: a.takenAt.toISOString(),
      runId: a.action.type === 'startWorkflow' && a.action.workflow.workflowId.startsWith(prefix) ? runIdOfFire(a.action.workflow.workflowId) : null,
    })),
  };
}

/** A schedule the caller may see; another team's is a 404, one they may not change (`manage`) a 403. */
export async function scheduleFor(em: EntityManager, principal: Principal, id: string, manage = false): Promise<Schedule> {
  const s = await em.findOne(ScheduleSchema, { id }, { populate: ['team', 'createdBy'] });
  const visible = visibleTeamIds(principal);
  if (!s || (visible && !visible.includes(teamOf(s).id))) throw new NotFoundError('schedule not found');
  if (manage) assertCan(principal, teamOf(s).id, `runs:start:${s.kind}`, 'schedule');
  return s;
}

export async function listSchedules(deps: Deps, em: EntityManager, principal: Principal, teamSlug?: string): Promise<ScheduleView[]> {
  const visible = visibleTeamIds(principal);
  const where: Record<string, unknown> = {};
  if (visible) where.team = { $in: visible };
  if (teamSlug) where.team = { ...(where.team as object), slug: teamSlug };
  const rows = await em.find(ScheduleSchema, where, { populate: ['team', 'createdBy'], orderBy: { name: 'asc' }, limit: 500 });
  return Promise.all(rows.map((s) => toScheduleView(deps, s)));
}

/**
 * Creates the row and the Temporal Schedule together: the Schedule is created inside the row's
 * transaction, so a refused spec leaves no row, and a row that fails to commit takes its Schedule with it.
 */
export async function createSchedule(deps: Deps, em: EntityManager, caller: Caller, body: CreateScheduleRequest): Promise<ScheduleView> {
  const team = await em.findOne(TeamSchema, { slug: body.team });
  if (!team || (visibleTeamIds(caller.principal) && !visibleTeamIds(caller.principal)!.includes(team.id))) throw new NotFoundError('team not found');
  await checkRunnable(em, caller, team, body.kind, body.params);
  const id = crypto.randomUUID();
  let created = false;
  try {
    const row = await saveUnique(body.name, () =>
      em.transactional(async (tx) => {
        const s = tx.create(ScheduleSchema, {
          id,
          team,
          name: body.name,
          kind: body.kind,
          params: body.params,
          spec: body.spec,
          overlap: body.overlap,
          catchupWindowSeconds: body.catchupWindowSeconds,
          paused: body.paused,
          note: body.note ?? null,
          createdBy: caller.principal.id,
        });
        recordAudit(tx, { actor: actor(caller), action: 'schedule.create', resourceType: 'schedule', resourceId: id, teamId: team.id, ip: caller.ip, data: { name: body.name, kind: body.kind, spec: body.spec } });
        await tx.flush();
        await deps.temporal.schedule
          .create({ scheduleId: temporalScheduleId(id), ...temporalOptions(s), state: { paused: body.paused, ...(body.note ? { note: body.note } : {}) } })
          .catch((err: unknown) => {
            throw specError(err) ?? err;
          });
        created = true;
        return s;
      }),
    );
    return toScheduleView(deps, row);
  } catch (err) {
    if (created) await deps.temporal.schedule.getHandle(temporalScheduleId(id)).delete().catch(() => undefined);
    throw err;
  }
}

/**
 * Whoever edits a schedule takes it over: its fires run as them from then on (their permissions, their
 * right to auto-approve), so an edit may not keep running what only the previous author may run.
 */
export async function updateSchedule(deps: Deps, em: EntityManager, caller: Caller, id: string, change: ScheduleChange): Promise<ScheduleView> {
  const s = await scheduleFor(em, caller.principal, id, true);
  await checkRunnable(em, caller, teamOf(s), s.kind, change.params ?? s.params);
  Object.assign(s, Object.fromEntries(Object.entries(change).filter(([, v]) => v !== undefined)));
  s.createdBy = await em.findOneOrFail(UserSchema, { id: caller.principal.id });
  await saveUnique(s.name, () =>
    em.transactional(async (tx) => {
      recordAudit(tx, { actor: actor(caller), action: 'schedule.update', resourceType: 'schedule', resourceId: id, teamId: teamOf(s).id, ip: caller.ip, data: { fields: Object.keys(change) } });
      await tx.flush();
      const options = temporalOptions(s);
      await deps.temporal.schedule
        .getHandle(temporalScheduleId(id))
        .update((previous) => ({ ...previous, spec: options.spec, action: options.action, policies: { ...previous.policies, ...options.policies } }))
        .catch((err: unknown) => {
          throw specError(err) ?? err;
        });
    }),
  );
  return toScheduleView(deps, s);
}

export async function setPaused(deps: Deps, em: EntityManager, caller: Caller, id: string, paused: boolean, note?: string): Promise<ScheduleView> {
  const s = await scheduleFor(em, caller.principal, id, true);
  s.paused = paused;
  s.note = note ?? null;
  await em.transactional(async (tx) => {
    recordAudit(tx, { actor: actor(caller), action: paused ? 'schedule.pause' : 'schedule.unpause', resourceType: 'schedule', resourceId: id, teamId: teamOf(s).id, ip: caller.ip, ...(note ? { data: { note } } : {}) });
    await tx.flush();
    const handle = deps.temporal.schedule.getHandle(temporalScheduleId(id));
    await (paused ? handle.pause(note) : handle.unpause(note));
  });
  return toScheduleView(deps, s);
}

/** Fires the schedule now (its overlap policy applies); the run appears in the runs list like any other fire's. */
export async function triggerSchedule(deps: Deps, em: EntityManager, caller: Caller, id: string): Promise<ScheduleView> {
  const s = await scheduleFor(em, caller.principal, id, true);
  // The fire runs as the author; only someone who may start the same run (auto-approval included) may ask for it.
  await checkRunnable(em, caller, teamOf(s), s.kind, s.params);
  await em.transactional(async (tx) => {
    recordAudit(tx, { actor: actor(caller), action: 'schedule.trigger', resourceType: 'schedule', resourceId: id, teamId: teamOf(s).id, ip: caller.ip });
    await tx.flush();
    await deps.temporal.schedule.getHandle(temporalScheduleId(id)).trigger();
  });
  return toScheduleView(deps, s);
}

/** Deletes the Temporal Schedule first (no new fire can start), then the row; runs it started stay. */
export async function deleteSchedule(deps: Deps, em: EntityManager, caller: Caller, id: string): Promise<void> {
  const s = await scheduleFor(em, caller.principal, id, true);
  await deps.temporal.schedule
    .getHandle(temporalScheduleId(id))
    .delete()
    .catch((err: unknown) => {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    });
  await em.transactional(async (tx) => {
    recordAudit(tx, { actor: actor(caller), action: 'schedule.delete', resourceType: 'schedule', resourceId: id, teamId: teamOf(s).id, ip: caller.ip, data: { name: s.name } });
    tx.remove(tx.getReference(ScheduleSchema, id));
  });
}
