import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/** Who did what to which resource, from where. Append-only. */
export const AuditLogSchema = defineEntity({
  name: 'AuditLog',
  tableName: 'audit_log',
  indexes: [{ properties: ['resourceType', 'resourceId'] }, { properties: ['createdAt'] }],
  properties: {
    id: p.bigint().primary().autoincrement(),
    actorId: p.uuid().nullable(),
    actorEmail: p.string().nullable(),
    action: p.string(),
    resourceType: p.string(),
    resourceId: p.string(),
    teamId: p.uuid().nullable().index(),
    ip: p.string().nullable(),
    data: p.json<Record<string, unknown>>().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type AuditLog = InferEntity<typeof AuditLogSchema>;
