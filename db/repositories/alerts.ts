import { LockMode, type EntityManager } from '@mikro-orm/postgresql';
import type { AlertSeverity, AlertStatus, PolicySnapshot } from '../../contracts/alerts/index.ts';
import { AlertEventSchema, AlertSchema, NotificationAttemptSchema, type Alert } from '../entities/index.ts';

export type AlertFilter = { teamIds: string[] | undefined; teamSlug?: string; status?: AlertStatus; severity?: AlertSeverity; dedupKey?: string; before?: Date; limit: number };

/** Newest first by first sighting; `before` pages. */
export async function listAlerts(em: EntityManager, f: AlertFilter): Promise<{ rows: Alert[]; nextBefore: string | null }> {
  if (f.teamIds?.length === 0) return { rows: [], nextBefore: null };
  const where: Record<string, unknown> = {};
  if (f.teamIds) where.team = { $in: f.teamIds };
  if (f.teamSlug) where.team = { ...(where.team as object), slug: f.teamSlug };
  if (f.status) where.status = f.status;
  if (f.severity) where.severity = f.severity;
  if (f.dedupKey) where.dedupKey = f.dedupKey;
  if (f.before) where.firstSeenAt = { $lt: f.before };
  const rows = await em.find(AlertSchema, where, { populate: ['team', 'source'], orderBy: { firstSeenAt: 'desc', id: 'desc' }, limit: f.limit + 1 });
  const page = rows.slice(0, f.limit);
  return { rows: page, nextBefore: rows.length > f.limit ? page[page.length - 1]!.firstSeenAt.toISOString() : null };
}

/** The open alert of a team with this dedup key, row-locked until the transaction ends. */
export async function lockOpenAlert(em: EntityManager, teamId: string, dedupKey: string): Promise<Alert | null> {
  return em.findOne(AlertSchema, { team: teamId, dedupKey, status: { $ne: 'resolved' } }, { lockMode: LockMode.PESSIMISTIC_WRITE });
}

/** An alert row as the firing upsert returns it: every column the API shows, its team and source as ids. */
export type AlertRecord = {
  id: string; teamId: string; sourceId: string | null; dedupKey: string; status: AlertStatus; severity: AlertSeverity; summary: string;
  details: Record<string, unknown>; labels: Record<string, string>; count: number; policyId: string | null; policyVersion: number | null;
  policySnapshot: PolicySnapshot | null; firstSeenAt: Date; lastSeenAt: Date; acknowledgedAt: Date | null; acknowledgedBy: string | null;
  resolvedAt: Date | null; resolvedBy: string | null;
};
export type FiringAlert = { id: string; teamId: string; sourceId: string; policyId: string | null; dedupKey: string; severity: AlertSeverity; summary: string; details: Record<string, unknown>; labels: Record<string, string>; at: Date; openedMessage: string };

// One statement, so one round trip and no transaction to hold open: the partial unique index on open
// alerts decides between opening and counting a repeat (ON CONFLICT waits for a concurrent opener or
// resolver and then takes its outcome, so two first firings cannot both open one); the policy is
// snapshotted in the same statement, and the 'opened' timeline entry is written only by an insert.
const UPSERT_FIRING = `
with policy as (
  select id, version, jsonb_build_object('id', id, 'version', version, 'steps', steps, 'repeat', "repeat", 'ackTimeoutSeconds', ack_timeout_seconds) as snapshot
  from escalation_policies where team_id = ? and (case when ?::uuid is null then is_default else id = ?::uuid end) limit 1
), up as (
  insert into alerts as a (id, team_id, source_id, dedup_key, status, severity, summary, details, labels, count, policy_id, policy_version, policy_snapshot, first_seen_at, last_seen_at, escalation_queued_at)
  select ?, ?, ?, ?, 'firing', ?, ?, ?::jsonb, ?::jsonb, 1, p.id, p.version, p.snapshot, ?, ?, ? from (select 1) one left join policy p on true
  on conflict (team_id, dedup_key) where status <> 'resolved' do update set count = a.count + 1, last_seen_at = excluded.last_seen_at
  returning a.*
), opened as (
  insert into alert_events (alert_id, at, type, message, data) select id, ?, 'opened', ?, ?::jsonb from up where id = ?
)
select * from up`;

/**
 * Clears the escalation outbox marks of these alerts (a start made, or a decision told), each only if
 * it is not newer than `at`: a decision marked since is still owed and keeps its mark.
 */
export async function clearMarks(em: EntityManager, marks: { id: string; at: Date }[]): Promise<void> {
  if (marks.length === 0) return;
  await em.getConnection().execute(
    `update alerts a set escalation_queued_at = null from jsonb_to_recordset(?::jsonb) as m(id uuid, at timestamptz)
      where a.id = m.id and a.escalation_queued_at <= m.at`,
    [JSON.stringify(marks)],
  );
}

/** Opens the team's alert with this dedup key, or counts a repeat on the open one; `opened` says which. */
export async function upsertFiringAlert(em: EntityManager, a: FiringAlert): Promise<{ alert: AlertRecord; opened: boolean }> {
  const params = [
    a.teamId, a.policyId, a.policyId,
    a.id, a.teamId, a.sourceId, a.dedupKey, a.severity, a.summary, JSON.stringify(a.details), JSON.stringify(a.labels), a.at, a.at, a.at,
    a.at, a.openedMessage, JSON.stringify({ severity: a.severity }), a.id,
  ];
  const rows = await em.getConnection().execute<Record<string, unknown>[]>(UPSERT_FIRING, params, 'all');
  const alert = alertRecordOf(em, rows[0]!);
  return { alert, opened: alert.id === a.id };
}

/** An `alerts` row read with raw SQL, as a record. */
export function alertRecordOf(em: EntityManager, r: Record<string, unknown>): AlertRecord {
  // Raw rows keep timestamps as PostgreSQL's text: the platform parses them as the ORM would.
  const date = (v: unknown) => (v === null ? null : (em.getPlatform().parseDate(v as string) as Date));
  return {
    id: r.id as string, teamId: r.team_id as string, sourceId: r.source_id as string | null, dedupKey: r.dedup_key as string, status: r.status as AlertStatus,
    severity: r.severity as AlertSeverity, summary: r.summary as string, details: r.details as Record<string, unknown>, labels: r.labels as Record<string, string>,
    count: r.count as number, policyId: r.policy_id as string | null, policyVersion: r.policy_version as number | null, policySnapshot: r.policy_snapshot as PolicySnapshot | null,
    firstSeenAt: date(r.first_seen_at)!, lastSeenAt: date(r.last_seen_at)!, acknowledgedAt: date(r.acknowledged_at), acknowledgedBy: r.acknowledged_by as string | null,
    resolvedAt: date(r.resolved_at), resolvedBy: r.resolved_by as string | null,
  };
}

export function appendAlertEvent(em: EntityManager, alertId: string, e: { at?: Date; type: string; message: string; data?: Record<string, unknown> | null; key?: string }): void {
  em.create(AlertEventSchema, { alert: em.getReference(AlertSchema, alertId), at: e.at ?? new Date(), type: e.type, message: e.message, data: e.data ?? null, key: e.key ?? null });
}

export async function alertTimeline(em: EntityManager, alertId: string) {
  const [events, attempts] = await Promise.all([
    em.find(AlertEventSchema, { alert: alertId }, { orderBy: { at: 'asc', id: 'asc' } }),
    em.find(NotificationAttemptSchema, { alert: alertId }, { orderBy: { at: 'asc', id: 'asc' } }),
  ]);
  return { events, attempts };
}

/** Marks an unused, unexpired ack link used (one statement: two clicks cannot both win); null when it was used, expired or unknown. */
export async function useAckLink(em: EntityManager, linkId: string): Promise<{ alertId: string; recipient: string } | null> {
  const rows = await em.execute<{ alert_id: string; recipient: string }[]>('update alert_ack_links set used_at = now() where id = ? and used_at is null and expires_at > now() returning alert_id, recipient', [linkId]);
  return rows[0] ? { alertId: rows[0].alert_id, recipient: rows[0].recipient } : null;
}
