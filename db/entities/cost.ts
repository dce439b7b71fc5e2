import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import type { CostTotals, FindingType } from '../../contracts/kinds/cost-scan.ts';
import { IntegrationSchema } from './integration.ts';
import { TeamSchema } from './team.ts';

/**
 * One piece of waste in an account, deduplicated across scans: while it is open, (integration, type,
 * resource) is unique (a partial unique index in the migration), so every scan that sees it again only
 * moves `lastSeenAt`. The first scan that no longer sees it resolves it and records the realised saving.
 */
export const CostFindingSchema = defineEntity({
  name: 'CostFinding',
  tableName: 'cost_findings',
  indexes: [{ properties: ['team', 'firstSeenAt'] }, { properties: ['integration', 'status'] }],
  properties: {
    id: p.uuid().primary(),
    team: () => p.manyToOne(TeamSchema).deleteRule('cascade'),
    integration: () => p.manyToOne(IntegrationSchema).deleteRule('cascade'),
    type: p.string().$type<FindingType>(),
    region: p.string(),
    resourceId: p.string(),
    /** The resource's team tag (cost allocation), not the OpsSight team. */
    owner: p.string().nullable(),
    detail: p.text(),
    monthlySavings: p.double().runtimeType('number').$type<number>(),
    status: p.string().$type<'open' | 'resolved'>(),
    firstSeenAt: p.datetime(),
    lastSeenAt: p.datetime(),
    firstRunId: p.uuid(),
    lastRunId: p.uuid(),
    resolvedAt: p.datetime().nullable(),
    resolvedRunId: p.uuid().nullable(),
    /** The cost-action run started to fix it (the latest). */
    actionRunId: p.uuid().nullable(),
    /** What resolving it saves a month: its estimate when the resource is gone or stopped. */
    realisedMonthlySavings: p.double().runtimeType('number').$type<number>().nullable(),
  },
});
export type CostFinding = InferEntity<typeof CostFindingSchema>;

/** What one scan read of an account's spend: the trends are these rows over time. */
export const CostReportSchema = defineEntity({
  name: 'CostReport',
  tableName: 'cost_reports',
  indexes: [{ properties: ['team', 'at'] }, { properties: ['integration', 'at'] }],
  properties: {
    id: p.bigint().primary().autoincrement(),
    team: () => p.manyToOne(TeamSchema).deleteRule('cascade'),
    integration: () => p.manyToOne(IntegrationSchema).deleteRule('cascade'),
    runId: p.uuid().unique(),
    at: p.datetime(),
    totals: p.json<CostTotals>(),
    openFindings: p.integer(),
    estimatedMonthlySavings: p.double().runtimeType('number').$type<number>(),
  },
});
export type CostReport = InferEntity<typeof CostReportSchema>;
