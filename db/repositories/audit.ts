import type { EntityManager } from '@mikro-orm/postgresql';
import { AuditLogSchema } from '../entities/index.ts';

export type AuditEntry = {
  actor: { id: string; email: string } | null;
  action: string;
  resourceType: string;
  resourceId: string;
  teamId?: string | null;
  ip?: string | null;
  data?: Record<string, unknown>;
};

/**
 * Queues an audit row on `em`; it is written by the same flush (or transaction) as the mutation it
 * records, so there is never a change without its audit row or the reverse.
 */
export function recordAudit(em: EntityManager, entry: AuditEntry): void {
  em.create(AuditLogSchema, {
    actorId: entry.actor?.id ?? null,
    actorEmail: entry.actor?.email ?? null,
    action: entry.action,
    resourceType: entry.resourceType,
    resourceId: entry.resourceId,
    teamId: entry.teamId ?? null,
    ip: entry.ip ?? null,
    data: entry.data ?? null,
  });
}

/** Who started a run, as its `run.start` audit row names them (a schedule's fire names the schedule's author). */
export async function runStarter(em: EntityManager, runId: string): Promise<string | null> {
  const rows = await em.getConnection().execute<{ actor_id: string | null }[]>(
    `select actor_id from audit_log where resource_type = 'run' and resource_id = ? and action = 'run.start' limit 1`,
    [runId],
  );
  return rows[0]?.actor_id ?? null;
}

export type AuditFilter = {
  limit: number;
  cursor?: string;
  action?: string;
  actorId?: string;
  actorEmail?: string;
  resourceType?: string;
  resourceId?: string;
  teamId?: string;
  since?: string;
  until?: string;
};

/**
 * A page of the audit log, newest first, keyed on the row id (append-only, so a cursor never skips or
 * repeats a row however many are written meanwhile). An action ending in "." is a prefix.
 */
export async function auditPage(em: EntityManager, f: AuditFilter) {
  const where: string[] = [];
  const args: unknown[] = [];
  const add = (sql: string, value: unknown) => {
    where.push(sql);
    args.push(value);
  };
  if (f.cursor) add('id < ?', f.cursor);
  if (f.action) {
    if (f.action.endsWith('.')) add(`action like ? escape '\\'`, `${f.action.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    else add('action = ?', f.action);
  }
  if (f.actorId) add('actor_id = ?', f.actorId);
  if (f.actorEmail) add('lower(actor_email) = lower(?)', f.actorEmail);
  if (f.resourceType) add('resource_type = ?', f.resourceType);
  if (f.resourceId) add('resource_id = ?', f.resourceId);
  if (f.teamId) add('team_id = ?', f.teamId);
  if (f.since) add('created_at >= ?', new Date(f.since));
  if (f.until) add('created_at < ?', new Date(f.until));
  const rows = await em.execute<
    { id: string; created_at: Date; actor_id: string | null; actor_email: string | null; action: string; resource_type: string; resource_id: string; team_id: string | null; ip: string | null; data: Record<string, unknown> | null }[]
  >(`select * from audit_log ${where.length ? `where ${where.join(' and ')}` : ''} order by id desc limit ?`, [...args, f.limit + 1]);
  const page = rows.slice(0, f.limit);
  return {
    items: page.map((r) => ({
      id: String(r.id),
      at: new Date(r.created_at).toISOString(),
      actorId: r.actor_id,
      actorEmail: r.actor_email,
      action: r.action,
      resourceType: r.resource_type,
      resourceId: r.resource_id,
      teamId: r.team_id,
      ip: r.ip,
      data: r.data,
    })),
    nextCursor: rows.length > f.limit ? String(page[page.length - 1]!.id) : null,
  };
}
