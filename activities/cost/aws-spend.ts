import { GetCostAndUsageCommand } from '@aws-sdk/client-cost-explorer';
import type { CostTotals } from '../../contracts/kinds/cost-scan.ts';
import type { AwsClients } from './aws-clients.ts';
import { addCost, emptyTotals, runRateForecast } from './totals.ts';

const isoDay = (d: Date) => d.toISOString().slice(0, 10);

/**
 * Month-to-date spend (UTC month) in one Cost Explorer query, daily and grouped by service and by the
 * team tag, and the month's forecast at the month-to-date daily run rate (a scan more than once a day
 * must not cost a GetCostForecast call each time, and the run rate is what the budget alert is about).
 */
export async function monthToDate(clients: AwsClients, teamTag: string, budget: number | null, now = new Date()): Promise<CostTotals> {
  const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const end = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));
  const totals = emptyTotals(budget);
  // No paginator ships for GetCostAndUsage: NextPageToken by hand.
  let token: string | undefined;
  do {
    const page = await clients.costExplorer.send(new GetCostAndUsageCommand({
      TimePeriod: { Start: isoDay(start), End: isoDay(end) },
      Granularity: 'DAILY',
      Metrics: ['UnblendedCost'],
      GroupBy: [{ Type: 'DIMENSION', Key: 'SERVICE' }, { Type: 'TAG', Key: teamTag }],
      NextPageToken: token,
    }));
    token = page.NextPageToken;
    for (const day of page.ResultsByTime ?? []) {
      const date = day.TimePeriod?.Start ?? isoDay(start);
      for (const g of day.Groups ?? []) {
        const cost = g.Metrics?.UnblendedCost;
        const amount = Number(cost?.Amount ?? 0);
        if (!Number.isFinite(amount) || amount === 0) continue;
        if (cost?.Unit) totals.currency = cost.Unit;
        const [service = 'unknown', tag = ''] = g.Keys ?? [];
        // Tag group keys read "<key>$<value>"; an empty value is spend nobody tagged.
        addCost(totals, { service, team: tag.slice(tag.indexOf('$') + 1), day: date, amount });
      }
    }
  } while (token);
  totals.forecast = runRateForecast(totals.monthToDate, now);
  return totals;
}
