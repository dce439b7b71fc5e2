import type { CostActionParams, CostActionResult } from '../../contracts/kinds/cost-action.ts';
import type { CostScanParams, CostTotals, ObservedFinding } from '../../contracts/kinds/cost-scan.ts';
import { performAzureAction } from './azure-actions.ts';
import type { AzureClient } from './azure-client.ts';
import { azureInventory, findAzureWaste, type AzureInventory } from './azure-inventory.ts';
import { azureMonthToDate } from './azure-spend.ts';
import { performGcpAction } from './gcp-actions.ts';
import type { GcpClient } from './gcp-client.ts';
import { findGcpWaste, gcpInventory, regionOfScope, type GcpInventory } from './gcp-inventory.ts';
import { gcpMonthToDate } from './gcp-spend.ts';

/**
 * What an action keeps across the attempts of its activity (Temporal's heartbeat details): `previous`
 * is what the last attempt saved, `save` records more (it heartbeats at once, and every later beat
 * carries it).
 */
export type ActionProgress = { attempt: number; previous: unknown; save(details: Record<string, unknown>): void };

/**
 * What a cloud gives a cost scan and a cost action. runCostScan and runCostAction speak only this; the
 * integration's type (aws, azure, gcp) picks the implementation.
 */
export type CostProvider = {
  /** The regions scanned: an open finding in one of them that a scan no longer sees is resolved. */
  regions: string[];
  /** Every priced piece of waste in one region. */
  findWaste(region: string, rules: Pick<CostScanParams, 'idleCpuPercent' | 'idleDays' | 'snapshotAgeDays' | 'teamTag'>): Promise<ObservedFinding[]>;
  /** Spend of the month so far and its forecast. */
  monthToDate(teamTag: string, budget: number | null): Promise<CostTotals>;
  /**
   * After findWaste: the regions this scan could not read completely (and the scopes missing), so an
   * open finding there that was not seen may still exist: it is not resolved this time.
   */
  unreached?(): Promise<{ regions: string[]; scopes: string[] }>;
  /** One approved action, deciding from the resource's own state whether anything is left to do. */
  act(params: CostActionParams, runId: string, signal: AbortSignal, progress?: ActionProgress): Promise<CostActionResult>;
};

/**
 * Azure: the regions are the integration's locations. Each subscription is listed once per provider
 * (one activity call) however many locations are asked for, since ARM lists a whole subscription.
 */
export function azureProvider(azure: AzureClient): CostProvider {
  let inventories: Promise<AzureInventory[]> | undefined;
  return {
    regions: azure.locations,
    findWaste: async (location, rules) => findAzureWaste(azure, await (inventories ??= Promise.all(azure.subscriptions.map((s) => azureInventory(azure, s)))), location, rules),
    monthToDate: (teamTag, budget) => azureMonthToDate(azure, teamTag, budget),
    act: (params, runId, signal) => performAzureAction(azure, params, runId, signal),
  };
}

/**
 * GCP: the regions are the integration's regions (their zones included) and `global`, where global
 * addresses and every snapshot live. Each project is listed once (aggregatedList) per provider.
 */
export function gcpProvider(gcp: GcpClient): CostProvider {
  let inventories: Promise<GcpInventory[]> | undefined;
  return {
    regions: [...gcp.regions, 'global'],
    findWaste: async (region, rules) => findGcpWaste(await (inventories ??= Promise.all(gcp.projects.map((p) => gcpInventory(gcp, p, rules.idleDays)))), region, rules),
    unreached: async () => {
      const read = inventories ? await inventories : [];
      return {
        regions: [...new Set(read.flatMap((i) => i.unreachable.map(regionOfScope)))],
        scopes: read.flatMap((i) => i.unreachable.map((scope) => `projects/${i.project}/${scope}`)),
      };
    },
    monthToDate: (teamTag, budget) => gcpMonthToDate(gcp, teamTag, budget),
    act: (params, runId, signal) => performGcpAction(gcp, params, runId, signal),
  };
}
