import type { CostTotals } from '../../contracts/kinds/cost-scan.ts';
import { API_VERSIONS, type AzureClient } from './azure-client.ts';
import { addCost, emptyTotals } from './totals.ts';

type QueryResult = { properties?: { columns?: Array<{ name: string }>; rows?: unknown[][]; nextLink?: string | null } };

/** A Cost Management answer's rows as objects keyed by its column names (its order is not promised). */
function rowsOf(res: QueryResult): Array<Record<string, unknown>> {
  const names = (res.properties?.columns ?? []).map((c) => c.name);
  return (res.properties?.rows ?? []).map((r) => Object.fromEntries(names.map((n, i) => [n, r[i]])));
}

/** 20261127 (UsageDate as Cost Management gives it) → 2026-11-27. */
const dayOf = (usageDate: unknown) => String(usageDate).replace(/^(\d{4})(\d{2})(\d{2}).*$/, '$1-$2-$3');

async function query(azure: AzureClient, path: string, body: unknown): Promise<Array<Record<string, unknown>>> {
  const rows: Array<Record<string, unknown>> = [];
  let url: string | null | undefined = path;
  while (url) {
    const page: { body: QueryResult } = await azure.call<QueryResult>(url, API_VERSIONS.costManagement, { method: 'POST', body });
    rows.push(...rowsOf(page.body));
    url = page.body.properties?.nextLink;
  }
  return rows;
}

/**
 * Month-to-date actual cost of every subscription (Cost Management query, daily, grouped by service
 * and by the team tag), and the month's forecast: the month so far plus Cost Management's own daily
 * forecast for the days left (the forecast call is free on Azure, unlike AWS's).
 */
export async function azureMonthToDate(azure: AzureClient, teamTag: string, budget: number | null, now = new Date()): Promise<CostTotals> {
  const totals = emptyTotals(budget);
  const aggregation = { totalCost: { name: 'Cost', function: 'Sum' } };
  const tomorrow = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));
  const monthEnd = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 0, 23, 59, 59));
  let forecastRest = 0;
  for (const sub of azure.subscriptions) {
    const rows = await query(azure, `/subscriptions/${sub}/providers/Microsoft.CostManagement/query`, {
      type: 'ActualCost',
      timeframe: 'MonthToDate',
      dataset: { granularity: 'Daily', aggregation, grouping: [{ type: 'Dimension', name: 'ServiceName' }, { type: 'TagKey', name: teamTag }] },
    });
    for (const r of rows) {
      if (typeof r.Currency === 'string' && r.Currency) totals.currency = r.Currency;
      addCost(totals, { service: String(r.ServiceName ?? 'unknown'), team: r.TagKey === teamTag ? String(r.TagValue ?? '') : '', day: dayOf(r.UsageDate), amount: Number(r.Cost ?? r.PreTaxCost ?? 0) });
    }
    if (tomorrow > monthEnd) continue;
    const forecast = await query(azure, `/subscriptions/${sub}/providers/Microsoft.CostManagement/forecast`, {
      type: 'ActualCost',
      timeframe: 'Custom',
      timePeriod: { from: tomorrow.toISOString(), to: monthEnd.toISOString() },
      dataset: { granularity: 'Daily', aggregation },
      includeActualCost: false,
      includeFreshPartialCost: false,
    });
    forecastRest += forecast.filter((r) => r.CostStatus === undefined || r.CostStatus === 'Forecast').reduce((a, r) => a + Number(r.Cost ?? r.PreTaxCost ?? 0), 0);
  }
  totals.forecast = Math.round((totals.monthToDate + forecastRest) * 100) / 100;
  return totals;
}
