import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { TeamSchema } from './team.ts';

/**
 * Where each health check of a team's monitor stands: its damped status, how many scans in a row it
 * failed, and the run that last counted (a retried scan activity must not count twice).
 */
export const MonitorCheckSchema = defineEntity({
  name: 'MonitorCheck',
  tableName: 'monitor_checks',
  properties: {
    team: () => p.manyToOne(TeamSchema).primary().deleteRule('cascade'),
    monitor: p.string().primary(),
    check: p.string().primary(),
    type: p.string(),
    status: p.string().$type<'up' | 'down' | 'unknown'>(),
    consecutiveFailures: p.integer().default(0),
    since: p.datetime(),
    lastCheckedAt: p.datetime(),
    lastRunId: p.uuid(),
    lastOk: p.boolean(),
    lastLatencyMs: p.integer(),
    lastDetail: p.text(),
  },
});
export type MonitorCheck = InferEntity<typeof MonitorCheckSchema>;

/** A check going down or coming back: the monitoring history. */
export const MonitorTransitionSchema = defineEntity({
  name: 'MonitorTransition',
  tableName: 'monitor_transitions',
  indexes: [{ properties: ['team', 'at'] }],
  properties: {
    id: p.bigint().primary().autoincrement(),
    team: () => p.manyToOne(TeamSchema).deleteRule('cascade'),
    monitor: p.string(),
    check: p.string(),
    from: p.string().$type<'up' | 'down' | 'unknown'>(),
    to: p.string().$type<'up' | 'down'>(),
    at: p.datetime(),
    runId: p.uuid(),
    detail: p.text(),
  },
});
export type MonitorTransition = InferEntity<typeof MonitorTransitionSchema>;
