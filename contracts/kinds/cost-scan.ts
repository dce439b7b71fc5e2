import { z } from 'zod';
import { TASK_QUEUES, type RunInput } from '../temporal.ts';
import { defineKind } from './kind.ts';

export const FINDING_TYPES = ['idle-instance', 'unattached-volume', 'unused-address', 'old-snapshot'] as const;
export type FindingType = (typeof FINDING_TYPES)[number];

const money = z.number().min(0).max(1e12);

export const costScanParamsSchema = z.strictObject({
  integration: z.uuid().describe('id of the team\'s aws, azure or gcp integration (the account scanned; the run target); its type decides the cloud'),
  idleCpuPercent: z.number().min(0).max(100).default(5).describe('a running instance whose average CPU stays below this is idle'),
  idleDays: z.number().int().min(1).max(63).default(7).describe('over this many days (CPU averaged over the window: CloudWatch, Azure Monitor, Cloud Monitoring)'),
  snapshotAgeDays: z.number().int().min(0).max(3650).default(90).describe('snapshots older than this are findings'),
  monthlyBudget: money.optional().describe('the account\'s monthly budget (in the currency its bill is in): a forecast above it raises an alert'),
  teamTag: z.string().regex(/^[\w.:/=+@ -]{1,128}$/, 'a tag or label key').default('team').describe('the cost allocation tag (GCP: label) that names the team owning a cost'),
  alertSource: z.uuid().optional().describe('id of the team\'s alert-source integration alerts are raised through (none: findings are only stored)'),
  alertAboveMonthly: money.default(50).describe('a new finding saving more than this a month raises an alert'),
});
export type CostScanParams = z.infer<typeof costScanParamsSchema>;
export type CostScanRunInput = RunInput<CostScanParams>;

/** One piece of waste as a scan saw it, priced by activities/cost/pricing.ts. */
export type ObservedFinding = {
  type: FindingType;
  region: string;
  resourceId: string;
  detail: string;
  monthlySavings: number;
  team: string | null;
};

/** Spend as the cloud's billing reports it for the month so far, and where the month is heading. */
export type CostTotals = {
  currency: string;
  monthToDate: number;
  forecast: number;
  budget: number | null;
  byService: Record<string, number>;
  byTeam: Record<string, number>;
  byDay: Record<string, number>;
};

export type CostScanSummary = {
  account: string;
  totals: CostTotals;
  findings: { open: number; new: number; resolved: number; estimatedMonthlySavings: number; realisedMonthlySavings: number };
  alerts: Array<{ dedupKey: string; outcome: string }>;
};

export const costScanKind = defineKind({
  kind: 'cost-scan',
  title: 'Cost scan (AWS, Azure, GCP)',
  description: 'Reads an AWS account\'s, Azure subscriptions\' or Google Cloud projects\' month-to-date spend and forecast and finds waste — idle instances, unattached volumes and disks, unused addresses, old snapshots — with their estimated monthly savings.',
  paramsSchema: costScanParamsSchema,
  workflowType: 'costScanRun',
  taskQueue: TASK_QUEUES.scans,
  // Two scans of one account at once would race on its findings. The integration's id names the
  // account whatever its cloud (the params alone cannot tell which cloud that is).
  target: (params) => `cloud:${params.integration}`,
  integrations: (params) => [params.integration, ...(params.alertSource ? [params.alertSource] : [])],
  approval: 'never',
  summary: 'findings',
});
