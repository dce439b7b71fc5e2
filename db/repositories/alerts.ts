import { LockMode, type EntityManager } from '@mikro-orm/postgresql';
import type { AlertSeverity, AlertStatus } from '../../contracts/alerts/index.ts';
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

export function appendAlertEvent(em: EntityManager, alertId: string, e: { at?: Date; type: string; message: string; data?: Record<string, unknown> | null }): void {
  em.create(AlertEventSchema, { alert: em.getReference(AlertSchema, alertId), at: e.at ?? new Date(), type: e.type, message: e.message, data: e.data ?? null });
}

export async function alertTimeline(em: EntityManager, alertId: string) {
  const [events, attempts] = await Promise.all([
    em.find(AlertEventSchema, { alert: alertId }, { orderBy: { at: 'asc', id: 'asc' } }),
    em.find(NotificationAttemptSchema, { alert: alertId }, { orderBy: { at: 'asc', id: 'asc' } }),
  ]);
  return { events, attempts };
}

export async function wasSent(em: EntityManager, alertId: string, key: string): Promise<boolean> {
  return (await em.count(NotificationAttemptSchema, { alert: alertId, key, status: 'sent' })) > 0;
}

/** Marks an unused, unexpired ack link used (one statement: two clicks cannot both win); null when it was used, expired or unknown. */
export async function useAckLink(em: EntityManager, linkId: string): Promise<{ alertId: string; recipient: string } | null> {
  const rows = await em.execute<{ alert_id: string; recipient: string }[]>('update alert_ack_links set used_at = now() where id = ? and used_at is null and expires_at > now() returning alert_id, recipient', [linkId]);
  return rows[0] ? { alertId: rows[0].alert_id, recipient: rows[0].recipient } : null;
}
