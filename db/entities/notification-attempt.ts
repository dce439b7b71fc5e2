import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { AlertSchema } from './alert.ts';

/**
 * Every try at delivering one notification of an escalation (`key` names which, `attempt` which try):
 * what a person asks when they say "I was never paged". A `sent` row for a key is also what keeps a
 * retried or replayed send from paging twice.
 */
export const NotificationAttemptSchema = defineEntity({
  name: 'NotificationAttempt',
  tableName: 'notification_attempts',
  indexes: [{ properties: ['alert', 'key'] }],
  properties: {
    id: p.bigint().primary().autoincrement(),
    alert: () => p.manyToOne(AlertSchema).deleteRule('cascade'),
    key: p.string(),
    attempt: p.integer(),
    channel: p.string(),
    integrationId: p.uuid().nullable(),
    target: p.string(),
    status: p.string().$type<'sent' | 'failed' | 'skipped'>(),
    providerId: p.string().nullable(),
    error: p.text().nullable(),
    latencyMs: p.integer(),
    at: p.datetime(),
  },
});
export type NotificationAttempt = InferEntity<typeof NotificationAttemptSchema>;
