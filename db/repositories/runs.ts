import { raw, UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/postgresql';
import { TERMINAL_STATUSES, type Approval, type ListRunsQuery, type Requester, type RunStatus, type RunView } from '../../contracts/runs.ts';
import type { NewRunEvent, RunEvent } from '../../contracts/events.ts';
import { kindNamed } from '../../contracts/kinds/index.ts';
import { RunSchema, type Run } from '../entities/index.ts';
import type { AuditEntry } from './audit.ts';

export type Times = { waitedMs: number; waitingSince: number | null; startedAt: number | null; finishedAt: number | null };

/** Time awaiting approval and time working (from the first start to the end or now, less the waits). */
function timeSplit(t: Times, now: number): { waitingMs: number; workingMs: number } {
  const waitingMs = t.waitedMs + (t.waitingSince !== null ? Math.max(0, now - t.waitingSince) : 0);
  const end = t.finishedAt ?? now;
  const workingMs = t.startedAt !== null ? Math.max(0, end - t.startedAt - waitingMs) : 0;
  return { waitingMs, workingMs };
}

const timesOf = (run: Run): Times => ({
  waitedMs: Number(run.waitingMs ?? 0),
  waitingSince: run.waitingSince?.getTime() ?? null,
  startedAt: run.startedAt?.getTime() ?? null,
  finishedAt: run.finishedAt?.getTime() ?? null,
});

/** A run's view as stored (a cache keeps these): the times that grow are worked out when it is served. */
export type StoredRunView = { view: RunView; waitedMs: number };

export const toStoredRunView = (run: Run): StoredRunView => ({ view: toRunView(run), waitedMs: Number(run.waitingMs ?? 0) });

/** What a stored view's growing times are worked out from. */
export function storedTimes({ view, waitedMs }: StoredRunView): Times {
  const ms = (iso: string | null) => (iso === null ? null : Date.parse(iso));
  return { waitedMs, waitingSince: ms(view.waitingSince), startedAt: ms(view.startedAt), finishedAt: ms(view.finishedAt) };
}

/** waitingMs and workingMs as of `now`. */
export const servedTimes = (times: Times, now = Date.now()) => timeSplit(times, now);

/** The view with waitingMs and workingMs as of `now`. */
export function servedRunView(stored: StoredRunView, now = Date.now()): RunView {
  return { ...stored.view, ...timeSplit(storedTimes(stored), now) };
}

export function toRunView(run: Run, now = Date.now()): RunView {
  const team = run.team as unknown as { slug: string };
  const user = run.requestedBy as unknown as { id: string; email: string } | null;
  return {
    id: run.id,
    kind: run.kind,
    team: team.slug,
    status: run.status,
    step: run.step ?? null,
    target: run.target ?? null,
    params: kindNamed(run.kind)?.shownParams(run.params) ?? run.params,
    summary: run.summary ?? null,
    approval: run.approval ?? null,
    cancelRequest: run.cancelRequest ?? null,
    error: run.error ?? null,
    // A run just inserted carries its starter as a reference (insertRun): the requester's label is their email.
    requestedBy: user ? { id: user.id, email: user.email ?? run.requester.label } : null,
    requester: run.requester,
    createdAt: run.createdAt.toISOString(),
    startedAt: run.startedAt?.toISOString() ?? null,
    finishedAt: run.finishedAt?.toISOString() ?? null,
    ...timeSplit(timesOf(run), now),
    waitingSince: run.waitingSince?.toISOString() ?? null,
    lastSeq: run.lastSeq,
  };
}

/** Thrown when another active run of the same kind holds the target. */
export class TargetBusyError extends Error {
  readonly target: string;
  constructor(target: string) {
    super(`${target} is busy`);
    this.target = target;
  }
}

/** The team's active run holding `target`, if any (read outside the failed insert's aborted transaction). */
export async function findActiveRunOn(em: EntityManager, teamId: string, kind: string, target: string): Promise<string | null> {
  const active = await em.findOne(RunSchema, { team: teamId, kind, activeTarget: target }, { fields: ['id'] });
  return active?.id ?? null;
}

/**
 * A new run's row, its audit row and its first event ("queued", seq 1) in one statement: atomic on
 * its own, or part of the caller's transaction. One round trip where the ORM took five (BEGIN, three
 * INSERTs, COMMIT) and a sixth to number the event. A second active run on the team's target fails
 * here (TargetBusyError). The returned run is managed by `em`: its team is the one `em` has loaded,
 * if it has; its starter is a reference (see toRunView).
 */
export async function insertRun(
  em: EntityManager,
  input: { id: string; kind: string; teamId: string; requester: Requester; target: string | null; params: Record<string, unknown>; audit: AuditEntry; firstEvent: NewRunEvent },
): Promise<{ run: Run; firstEvent: RunEvent }> {
  const now = new Date().toISOString();
  const { audit, firstEvent: e } = input;
  const json = (v: unknown) => (v === undefined || v === null ? null : JSON.stringify(v));
  let rows: Record<string, unknown>[];
  try {
    rows = await em.execute(
      `with r as (
         insert into runs (id, kind, team_id, status, target, active_target, params, requested_by_id, requester, last_seq, waiting_ms, created_at, updated_at)
         values (?, ?, ?, 'queued', ?, ?, ?, ?, ?, 1, 0, ?, ?)
         returning *
       ), a as (
         insert into audit_log (actor_id, actor_email, action, resource_type, resource_id, team_id, ip, data, created_at)
         select ?::uuid, ?, ?, ?, ?, ?::uuid, ?, ?::jsonb, ?::timestamptz from r
       ), e as (
         insert into run_events (run_id, seq, ts, type, level, stream, message, data, attempt)
         select r.id, 1, ?::timestamptz, ?, ?, ?, ?, ?::jsonb, ? from r
       )
       select * from r`,
      [
        input.id, input.kind, input.teamId, input.target, input.target, json(input.params), input.requester.type === 'user' ? input.requester.id : null, json(input.requester), now, now,
        audit.actor?.id ?? null, audit.actor?.email ?? null, audit.action, audit.resourceType, audit.resourceId, audit.teamId ?? null, audit.ip ?? null, json(audit.data), now,
        e.ts ?? now, e.type, e.level, e.stream ?? null, e.message, json(e.data), e.attempt,
      ],
    );
  } catch (err) {
    if (err instanceof UniqueConstraintViolationException && String(err.message).includes('active_target')) throw new TargetBusyError(input.target!);
    throw err;
  }
  const run = em.map(RunSchema, rows[0]!);
  return { run, firstEvent: { ...e, runId: input.id, seq: 1, ts: e.ts ?? now } };
}

export async function findRun(em: EntityManager, id: string): Promise<Run | null> {
  return em.findOne(RunSchema, { id }, { populate: ['team', 'requestedBy'] });
}

export type RunStateChange = {
  status?: RunStatus;
  step?: string | null;
  summary?: Record<string, unknown> | null;
  approval?: Approval | null;
  error?: string | null;
};

/** What a state change left on the row: enough to announce it, and whether its events are stored already. */
export type RunStateRow = { status: RunStatus; kind: string; target: string | null; step: string | null; teamSlug: string; keySeen: boolean };

const TERMINAL_SQL = TERMINAL_STATUSES.map((s) => `'${s}'`).join(', ');

/**
 * Applies a state change reported by a workflow, in one statement (every state change of every run is
 * on its critical path; through the ORM it took five round trips). A run that already ended keeps its
 * final status and is not touched by a change that names one: a late or repeated report (activity
 * retry, reconciler) must not resurrect it. `eventKey`, when given, is looked for among the run's
 * events in the same statement (`keySeen`), so a retried report does not append its events twice.
 */
export async function updateRunState(em: EntityManager, id: string, change: RunStateChange, now = new Date(), eventKey?: string): Promise<RunStateRow | null> {
  const given = (v: unknown) => v !== undefined;
  const json = (v: unknown) => (v === undefined || v === null ? null : JSON.stringify(v));
  // Through the entity manager, so a database outage is the driver's exception (a 503 in the API).
  const rows = await em.execute<RunStateRow[]>(
    `with p as (select ?::text as status, ?::timestamptz as at),
     u as (
       update runs r set
         status = coalesce(p.status, r.status),
         waiting_ms = case when p.status <> 'awaiting_approval' and r.waiting_since is not null
                           then r.waiting_ms + greatest(0, floor(extract(epoch from (p.at - r.waiting_since)) * 1000))::bigint
                           else r.waiting_ms end,
         waiting_since = case when p.status is null then r.waiting_since
                              when p.status = 'awaiting_approval' then coalesce(r.waiting_since, p.at)
                              else null end,
         started_at = case when p.status = 'running' then coalesce(r.started_at, p.at) else r.started_at end,
         finished_at = case when p.status in (${TERMINAL_SQL}) then p.at else r.finished_at end,
         active_target = case when p.status in (${TERMINAL_SQL}) then null else r.active_target end,
         step = case when ? then ? else r.step end,
         summary = case when ? then ?::jsonb else r.summary end,
         approval = case when ? then ?::jsonb else r.approval end,
         error = case when ? then ? else r.error end,
         updated_at = p.at
       from p
       where r.id = ? and not (p.status is not null and r.status in (${TERMINAL_SQL}))
       returning r.id, r.status, r.step
     )
     select coalesce(u.status, r.status) as status, r.kind, r.target,
            case when u.id is null then r.step else u.step end as step,
            t.slug as "teamSlug",
            exists (select 1 from run_events e where e.run_id = r.id and e.data->>'key' = ?) as "keySeen"
       from runs r join teams t on t.id = r.team_id left join u on u.id = r.id
      where r.id = ?`,
    [
      change.status ?? null, now.toISOString(),
      given(change.step), change.step ?? null,
      given(change.summary), json(change.summary),
      given(change.approval), json(change.approval),
      given(change.error), change.error ?? null,
      id,
      eventKey ?? null,
      id,
    ],
  );
  return rows[0] ?? null;
}

/**
 * Cursor = "<createdAt in ms>.<id>" of the last row of the previous page; newest first. Every string of
 * that shape (listRunsQuerySchema's pattern) decodes, so a cursor is valid exactly when it matches.
 */
export function encodeCursor(run: Pick<Run, 'createdAt' | 'id'>): string {
  return `${run.createdAt.getTime()}.${run.id}`;
}

export function decodeCursor(cursor: string): { createdAt: Date; id: string } | null {
  const m = /^(\d{1,13})\.([0-9a-f-]{36})$/.exec(cursor);
  return m ? { createdAt: new Date(Number(m[1])), id: m[2]! } : null;
}

export async function listRuns(
  em: EntityManager,
  query: Omit<ListRunsQuery, 'team' | 'cursor'> & { teamIds: string[]; after?: { createdAt: Date; id: string } },
): Promise<{ runs: Run[]; nextCursor: string | null }> {
  const and: Record<string, unknown>[] = [{ team: { $in: query.teamIds } }];
  if (query.kind) and.push({ kind: query.kind });
  if (query.status) and.push({ status: query.status });
  const target = query.target ?? query.workspace;
  if (target) and.push({ target });
  if (query.requestedBy) {
    and.push({ requestedBy: query.requestedBy.includes('@') ? { email: query.requestedBy.toLowerCase() } : { id: query.requestedBy } });
  }
  if (query.createdFrom) and.push({ createdAt: { $gte: query.createdFrom } });
  if (query.createdTo) and.push({ createdAt: { $lt: query.createdTo } });
  if (query.q) {
    // Words of the search each match the target, the starter's email, the approver's, the error or the id's start.
    for (const word of query.q.split(/\s+/).filter(Boolean)) {
      const like = `%${word.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      and.push({
        $or: [
          { target: { $ilike: like } },
          { requestedBy: { email: { $ilike: like } } },
          { approval: { byEmail: { $ilike: like } } },
          { error: { $ilike: like } },
          ...(/^[0-9a-f-]{4,36}$/i.test(word) ? [{ [raw((alias: string) => `${alias}.id::text`)]: { $like: `${word.toLowerCase()}%` } }] : []),
        ],
      });
    }
  }
  if (query.after) {
    and.push({
      $or: [
        { createdAt: { $lt: query.after.createdAt } },
        { createdAt: query.after.createdAt, id: { $lt: query.after.id } },
      ],
    });
  }
  const where = { $and: and };
  const runs = await em.find(RunSchema, where, {
    populate: ['team', 'requestedBy'],
    orderBy: { createdAt: 'desc', id: 'desc' },
    limit: query.limit + 1,
  });
  const more = runs.length > query.limit;
  const page = more ? runs.slice(0, query.limit) : runs;
  const last = page[page.length - 1];
  return { runs: page, nextCursor: more && last ? encodeCursor(last) : null };
}

/** Runs whose row says active, oldest first: the reconciler's work list. */
export async function findActiveRuns(em: EntityManager, olderThan: Date, limit: number): Promise<Run[]> {
  return em.find(
    RunSchema,
    { status: { $in: ['queued', 'running', 'awaiting_approval'] }, updatedAt: { $lt: olderThan } },
    { populate: ['team', 'requestedBy'], orderBy: { updatedAt: 'asc' }, limit },
  );
}

/**
 * Sets the run's cancel request unless one is there already (a force cancel: unless a force is there
 * already) or the run has ended meanwhile; false when another request or the run's end got there first.
 */
export async function claimCancel(em: EntityManager, runId: string, request: { force: boolean }): Promise<boolean> {
  const unclaimed = request.force ? "cancel_request is not null and coalesce((cancel_request->>'force')::boolean, false) = false" : 'cancel_request is null';
  const rows = await em.execute<{ id: string }[]>(
    `update runs set cancel_request = ?::jsonb, updated_at = now() where id = ? and status not in (${TERMINAL_STATUSES.map(() => '?').join(', ')}) and ${unclaimed} returning id`,
    [JSON.stringify(request), runId, ...TERMINAL_STATUSES],
  );
  return rows.length > 0;
}
