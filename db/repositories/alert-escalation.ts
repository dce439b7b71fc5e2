import type { EntityManager } from '@mikro-orm/postgresql';
import { alertRecordOf, type AlertRecord } from './alerts.ts';

// What an escalation writes while it pages, each as one statement: a storm of a thousand alerts makes
// these calls tens of thousands of times, and through the ORM each was a transaction of five or six
// round trips (begin, insert, re-read with team and source, commit), the worker's largest CPU cost.

/** An alert with what its view shows beside the row: its team's slug and its source. */
export type NamedAlert = { alert: AlertRecord; team: string; source: { id: string; name: string } | null };

export type KeyedTimelineEntry = { at: string; type: string; message: string; data: Record<string, unknown> | null; key: string };

const NAMED = `c.*, t.slug as team_slug, s.name as source_name`;
const NAMES = `join teams t on t.id = c.team_id left join integrations s on s.id = c.source_id`;

function namedAlertOf(em: EntityManager, r: Record<string, unknown>): NamedAlert {
  const alert = alertRecordOf(em, r);
  return { alert, team: r.team_slug as string, source: alert.sourceId ? { id: alert.sourceId, name: r.source_name as string } : null };
}

/**
 * The alert as it stands, and whether the notification `sentKey` was already delivered (a retry of a
 * send whose first attempt got through before its worker died must not page again).
 */
export async function alertForNotification(em: EntityManager, alertId: string, sentKey: string | null): Promise<(NamedAlert & { sent: boolean }) | null> {
  const rows = await em.getConnection().execute<Record<string, unknown>[]>(
    `select ${NAMED}, exists (select 1 from notification_attempts n where n.alert_id = c.id and n.key = ? and n.status = 'sent') as sent
       from alerts c ${NAMES} where c.id = ?`,
    [sentKey, alertId],
    'all',
  );
  return rows[0] ? { ...namedAlertOf(em, rows[0]), sent: rows[0].sent === true } : null;
}

/**
 * Appends timeline entries, each keyed so that writing them again adds nothing. `reopenAt` (an ack
 * timeout's instant) turns an acknowledged alert firing again, when its entries are new and nobody
 * acknowledged it at or after that instant (an ack the escalation took after its timeout stands).
 * Returns the alert as committed, and the keys this call wrote; null when the alert does not exist.
 */
export async function appendTimelineEntries(em: EntityManager, alertId: string, entries: KeyedTimelineEntry[], reopenAt: string | null): Promise<(NamedAlert & { written: string[] }) | null> {
  const rows = await em.getConnection().execute<Record<string, unknown>[]>(
    `with entry as (
       select * from jsonb_to_recordset(?::jsonb) as e (at timestamptz, type text, message text, data jsonb, key text)
     ), written as (
       insert into alert_events (alert_id, at, type, message, data, key)
       select a.id, e.at, e.type, e.message, e.data, e.key from entry e join alerts a on a.id = ?
       on conflict (alert_id, key) where key is not null do nothing
       returning key
     ), reopened as (
       update alerts set status = 'firing', acknowledged_at = null, acknowledged_by = null
       where id = ? and ?::timestamptz is not null and status = 'acknowledged' and exists (select 1 from written)
         and not exists (select 1 from alert_events x where x.alert_id = alerts.id and x.type = 'ack' and x.at >= ?::timestamptz)
       returning *
     ), c as (
       select * from reopened union all select * from alerts where id = ? and not exists (select 1 from reopened)
     )
     select ${NAMED}, (select coalesce(array_agg(key), '{}') from written) as written from c ${NAMES}`,
    [JSON.stringify(entries), alertId, alertId, reopenAt, reopenAt, alertId],
    'all',
  );
  return rows[0] ? { ...namedAlertOf(em, rows[0]), written: rows[0].written as string[] } : null;
}

export type AttemptRecord = {
  alertId: string; key: string; attempt: number; channel: string; integrationId: string | null; target: string;
  status: 'sent' | 'failed' | 'skipped'; providerId: string | null; error: string | null; latencyMs: number; at: Date;
};

/**
 * One delivery attempt on record, once: an insert whose commit was lost with its connection is made
 * again by its caller, and finds the row there.
 */
export async function insertNotificationAttempt(em: EntityManager, a: AttemptRecord): Promise<void> {
  await em.getConnection().execute(
    `insert into notification_attempts (alert_id, key, attempt, channel, integration_id, target, status, provider_id, error, latency_ms, at)
     select ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
     where not exists (select 1 from notification_attempts where alert_id = ? and key = ? and attempt = ?)`,
    [a.alertId, a.key, a.attempt, a.channel, a.integrationId, a.target, a.status, a.providerId, a.error, a.latencyMs, a.at, a.alertId, a.key, a.attempt],
    'run',
  );
}
