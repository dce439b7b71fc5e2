import type { CostTotals } from '../../contracts/kinds/cost-scan.ts';

const cents = (n: number) => Math.round(n * 100) / 100;

/** Empty totals of one scan, to add each cost row into. */
export const emptyTotals = (budget: number | null): CostTotals => ({ currency: 'USD', monthToDate: 0, forecast: 0, budget, byService: {}, byTeam: {}, byDay: {} });

/** Adds one cost row (a service, a team tag value, a day) to every breakdown; an empty team value is spend nobody tagged. */
export function addCost(totals: CostTotals, row: { service: string; team: string; day: string; amount: number }): void {
  if (!Number.isFinite(row.amount) || row.amount === 0) return;
  const add = (into: Record<string, number>, key: string) => (into[key] = cents((into[key] ?? 0) + row.amount));
  add(totals.byService, row.service);
  add(totals.byTeam, row.team || '(untagged)');
  add(totals.byDay, row.day);
  totals.monthToDate = cents(totals.monthToDate + row.amount);
}

/**
 * The month's forecast at the month-to-date daily run rate (UTC days, today counted): what the budget
 * alert is about, and free, where a cloud charges for or has no forecast call.
 */
export function runRateForecast(monthToDate: number, now = new Date()): number {
  const daysInMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 0)).getUTCDate();
  return cents((monthToDate / now.getUTCDate()) * daysInMonth);
}
