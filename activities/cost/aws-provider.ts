import { performCostAction } from './aws-actions.ts';
import type { AwsClients } from './aws-clients.ts';
import { findWaste } from './aws-inventory.ts';
import { monthToDate } from './aws-spend.ts';
import type { CostProvider } from './provider.ts';

/** AWS through its SDK (EC2, CloudWatch, Cost Explorer); loaded on a worker's first AWS cost run. */
export function awsProvider(clients: AwsClients): CostProvider {
  let accountId: Promise<string> | undefined;
  return {
    regions: clients.regions,
    findWaste: async (region, rules) => findWaste(clients, region, { ...rules, accountId: await (accountId ??= clients.accountId()) }),
    monthToDate: (teamTag, budget) => monthToDate(clients, teamTag, budget),
    act: (params, runId, signal, progress) => performCostAction(clients.ec2(params.region), params, runId, signal, { createOnce: clients.ec2Once(params.region), ...(progress ? { progress } : {}) }),
  };
}
