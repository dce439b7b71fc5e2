import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import type { AlertSeverity, AlertStatus, PolicySnapshot } from '../../contracts/alerts/index.ts';
import { IntegrationSchema } from './integration.ts';
import { TeamSchema } from './team.ts';

/**
 * One incident from a source. While it is not resolved, its (team, dedupKey) is unique (a partial
 * unique index in the migration): a repeat from the source finds it and is counted on it. Its
 * escalation runs as the workflow `alert-<id>` with the policy version recorded here.
 */
export const AlertSchema = defineEntity({
  name: 'Alert',
  tableName: 'alerts',
  indexes: [{ properties: ['team', 'firstSeenAt'] }, { properties: ['status', 'firstSeenAt'] }],
  properties: {
    id: p.uuid().primary(),
    team: () => p.manyToOne(TeamSchema).deleteRule('cascade'),
    source: () => p.manyToOne(IntegrationSchema).nullable().deleteRule('set null'),
    dedupKey: p.string(),
    status: p.string().$type<AlertStatus>(),
    severity: p.string().$type<AlertSeverity>(),
    summary: p.text(),
    details: p.json<Record<string, unknown>>(),
    labels: p.json<Record<string, string>>(),
    count: p.integer().default(1),
    policyId: p.uuid().nullable(),
    policyVersion: p.integer().nullable(),
    /** The policy as it was when the alert opened: what its escalation (re)starts with, whatever edits follow. */
    policySnapshot: p.json<PolicySnapshot>().nullable(),
    firstSeenAt: p.datetime(),
    lastSeenAt: p.datetime(),
    acknowledgedAt: p.datetime().nullable(),
    acknowledgedBy: p.string().nullable(),
    resolvedAt: p.datetime().nullable(),
    resolvedBy: p.string().nullable(),
    /** Set when the alert opens, cleared once its escalation workflow exists: a start a crash lost is found by this (core/alerts/escalation-start.ts). */
    escalationQueuedAt: p.datetime().nullable(),
  },
});
export type Alert = InferEntity<typeof AlertSchema>;

/** An alert's timeline: what the escalation did and what people and sources did to it, in order. */
export const AlertEventSchema = defineEntity({
  name: 'AlertEvent',
  tableName: 'alert_events',
  indexes: [{ properties: ['alert', 'at'] }],
  properties: {
    id: p.bigint().primary().autoincrement(),
    alert: () => p.manyToOne(AlertSchema).deleteRule('cascade'),
    at: p.datetime(),
    type: p.string(),
    message: p.text(),
    data: p.json<Record<string, unknown>>().nullable(),
    /** Written by an escalation activity: `<workflow run>:<activity id>.<n>`, unique per alert. */
    key: p.string().nullable(),
  },
});
export type AlertEvent = InferEntity<typeof AlertEventSchema>;

/** A single-use acknowledgement link sent by email: the signed token names this row; using it sets usedAt. */
export const AlertAckLinkSchema = defineEntity({
  name: 'AlertAckLink',
  tableName: 'alert_ack_links',
  properties: {
    id: p.uuid().primary(),
    alert: () => p.manyToOne(AlertSchema).deleteRule('cascade').index(),
    recipient: p.string(),
    expiresAt: p.datetime(),
    usedAt: p.datetime().nullable(),
  },
});
