import type { CostTotals } from '../../contracts/kinds/cost-scan.ts';
import type { GcpClient } from './gcp-client.ts';
import { addCost, emptyTotals, runRateForecast } from './totals.ts';

/** How long one jobs.query / getQueryResults call waits for the job before answering jobComplete: false. */
const WAIT_MS = 30_000;

type QueryAnswer = {
  jobComplete?: boolean;
  jobReference?: { projectId: string; jobId: string; location?: string };
  schema?: { fields?: Array<{ name: string }> };
  rows?: Array<{ f: Array<{ v: unknown }> }>;
  pageToken?: string;
};

/**
 * Google Cloud has no spend API for a month so far by service: its billing account exports every cost
 * line to BigQuery (the standard usage cost export), which is what this reads. Credits (sustained use,
 * free tier, …) are negative amounts added to the cost. The table is a validated setting, the rest are
 * query parameters. Costs are grouped by invoice month, so late lines of the previous month's last
 * days land in the month they are billed in.
 */
export const BILLING_QUERY = (table: string) => `
SELECT service.description AS service,
  IFNULL((SELECT l.value FROM UNNEST(labels) AS l WHERE l.key = @tag LIMIT 1), '') AS team,
  FORMAT_DATE('%Y-%m-%d', DATE(usage_start_time)) AS day,
  currency,
  SUM(cost) + SUM(IFNULL((SELECT SUM(c.amount) FROM UNNEST(credits) AS c), 0)) AS cost
FROM \`${table}\`
WHERE invoice.month = @month AND project.id IN UNNEST(@projects)
GROUP BY service, team, day, currency`;

/** Month-to-date spend of the projects from the billing export, and the forecast at its daily run rate. */
export async function gcpMonthToDate(gcp: GcpClient, teamTag: string, budget: number | null, now = new Date()): Promise<CostTotals> {
  const totals = emptyTotals(budget);
  const billingProject = gcp.billingTable.split('.')[0]!;
  const month = `${now.getUTCFullYear()}${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
  let answer = (await gcp.call<QueryAnswer>(`${gcp.bigquery}/projects/${billingProject}/queries`, {
    method: 'POST',
    body: {
      query: BILLING_QUERY(gcp.billingTable),
      useLegacySql: false,
      parameterMode: 'NAMED',
      queryParameters: [
        { name: 'tag', parameterType: { type: 'STRING' }, parameterValue: { value: teamTag } },
        { name: 'month', parameterType: { type: 'STRING' }, parameterValue: { value: month } },
        { name: 'projects', parameterType: { type: 'ARRAY', arrayType: { type: 'STRING' } }, parameterValue: { arrayValues: gcp.projects.map((value) => ({ value })) } },
      ],
      timeoutMs: WAIT_MS,
    },
  })).body;
  for (;;) {
    if (answer.jobComplete) {
      const names = (answer.schema?.fields ?? []).map((f) => f.name);
      for (const row of answer.rows ?? []) {
        const r = Object.fromEntries(names.map((n, i) => [n, row.f[i]?.v]));
        if (typeof r.currency === 'string' && r.currency) totals.currency = r.currency;
        addCost(totals, { service: String(r.service ?? 'unknown'), team: String(r.team ?? ''), day: String(r.day ?? ''), amount: Number(r.cost ?? 0) });
      }
      if (!answer.pageToken) break;
    }
    // Not done yet, or another page: getQueryResults on the same job.
    const job = answer.jobReference!;
    const q = new URLSearchParams({ timeoutMs: String(WAIT_MS), ...(job.location ? { location: job.location } : {}), ...(answer.jobComplete && answer.pageToken ? { pageToken: answer.pageToken } : {}) });
    answer = (await gcp.call<QueryAnswer>(`${gcp.bigquery}/projects/${job.projectId}/queries/${job.jobId}?${q}`)).body;
  }
  totals.forecast = runRateForecast(totals.monthToDate, now);
  return totals;
}
