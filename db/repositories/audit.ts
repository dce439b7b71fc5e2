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
