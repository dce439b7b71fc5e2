import type { CostActionParams, CostActionResult } from '../../contracts/kinds/cost-action.ts';
import type { CostScanParams, CostTotals, ObservedFinding } from '../../contracts/kinds/cost-scan.ts';
import { performCostAction } from './aws-actions.ts';
import type { AwsClients } from './aws-clients.ts';
import { findWaste } from './aws-inventory.ts';
import { monthToDate } from './aws-spend.ts';

/**
 * What a cloud gives a cost scan and a cost action. runCostScan and runCostAction speak only this, so
 * another cloud (Azure, GCP) is one more implementation beside awsProvider, with its own integration type.
 */
export type CostProvider = {
  regions: string[];
  /** Every priced piece of waste in one region. */
  findWaste(region: string, rules: Pick<CostScanParams, 'idleCpuPercent' | 'idleDays' | 'snapshotAgeDays' | 'teamTag'>): Promise<ObservedFinding[]>;
  /** Spend of the month so far and its forecast. */
  monthToDate(teamTag: string, budget: number | null): Promise<CostTotals>;
  /** One approved action, deciding from the resource's own state whether anything is left to do. */
  act(params: CostActionParams, runId: string, signal: AbortSignal): Promise<CostActionResult>;
};

export function awsProvider(clients: AwsClients): CostProvider {
  let accountId: Promise<string> | undefined;
  return {
    regions: clients.regions,
    findWaste: async (region, rules) => findWaste(clients, region, { ...rules, accountId: await (accountId ??= clients.accountId()) }),
    monthToDate: (teamTag, budget) => monthToDate(clients, teamTag, budget),
    act: (params, runId, signal) => performCostAction(clients.ec2(params.region), params, runId, signal),
  };
}
