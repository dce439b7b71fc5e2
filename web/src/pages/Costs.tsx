import { useEffect, useMemo, useState } from 'preact/hooks';
import type { CostOverview, FindingView } from '../../../contracts/costs.ts';
import { get, post, query } from '../client/http.ts';
import { may, useMe } from '../client/me.ts';
import { formatTime } from '../format.ts';
import { teamPref } from '../prefs.ts';
import { Link, navigate } from '../router.tsx';
import { StatusBadge } from '../components/StatusBadge.tsx';
import { TimeChart } from '../components/TimeChart.tsx';

const usd = (n: number) => `$${n.toFixed(2)}`;
const dollars = (n: number) => `$${n.toFixed(0)}`;
const top = (amounts: Record<string, number>, n = 8) => Object.entries(amounts).sort((a, b) => b[1] - a[1]).slice(0, n);

function Breakdown({ title, amounts }: { title: string; amounts: Record<string, number> }) {
  return (
    <table class="compact">
      <caption>{title}</caption>
      <tbody>
        {top(amounts).map(([k, v]) => (
          <tr key={k}>
            <td>{k}</td>
            <td class="num">{usd(v)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/**
 * Spend and waste from the cost scans: month-to-date and forecast per account, daily and per-scan trends
 * (uPlot), breakdowns by service, team tag and account, and the open findings with "fix" — which starts
 * the cost-action run (it then waits on its run page for an approver).
 */
export function CostsPage() {
  const me = useMe();
  const [team] = teamPref.use();
  const [overview, setOverview] = useState<CostOverview | null>(null);
  const [findings, setFindings] = useState<FindingView[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [status, setStatus] = useState<'open' | 'resolved'>('open');
  const [error, setError] = useState<string | null>(null);

  const load = async (after?: string | null) => {
    const page = await get<{ items: FindingView[]; nextCursor: string | null }>(`/api/v1/costs/findings${query({ team: team || undefined, status, cursor: after ?? undefined })}`);
    setFindings((prev) => (after ? [...prev, ...page.items] : page.items));
    setCursor(page.nextCursor);
  };
  useEffect(() => {
    get<CostOverview>(`/api/v1/costs${query({ team: team || undefined })}`).then(setOverview, (e: Error) => setError(e.message));
    load().catch((e: Error) => setError(e.message));
  }, [team, status]);

  const daily = useMemo(() => {
    const days = Object.keys(overview?.trends.byDay ?? {}).sort();
    return { x: days.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000), values: days.map((d) => overview!.trends.byDay[d]!) };
  }, [overview]);
  // Each point is all accounts as of that scan: every account's latest scan carries forward, so with
  // several accounts the lines are their sum instead of zigzagging from one account to the next.
  const scans = useMemo(() => {
    const latest = new Map<string, CostOverview['trends']['scans'][number]>();
    const out = { x: [] as number[], mtd: [] as number[], forecast: [] as number[], savings: [] as number[] };
    const total = (pick: (r: CostOverview['trends']['scans'][number]) => number) => Math.round([...latest.values()].reduce((sum, r) => sum + pick(r), 0) * 100) / 100;
    for (const r of overview?.trends.scans ?? []) {
      latest.set(r.accountId, r);
      out.x.push(Date.parse(r.at) / 1000);
      out.mtd.push(total((s) => s.monthToDate));
      out.forecast.push(total((s) => s.forecast));
      out.savings.push(total((s) => s.estimatedMonthlySavings));
    }
    return out;
  }, [overview]);

  const fix = async (f: FindingView) => {
    if (!confirm(`Start a run that fixes ${f.type} ${f.resourceId}? It waits for an approver before it changes anything.`)) return;
    try {
      const run = await post<{ id: string }>(`/api/v1/costs/findings/${f.id}/fix`);
      navigate(`/runs/${run.id}`);
    } catch (err) {
      setError((err as Error).message);
    }
  };

  if (!me) return <p aria-busy="true">Loading…</p>;
  return (
    <section aria-labelledby="costs-title">
      <div class="page-head">
        <h1 id="costs-title">Costs</h1>
      </div>
      {error && <p role="alert" class="error">{error}</p>}
      {overview && overview.latest.length === 0 && <p class="muted">No cost scan has run yet: start a cost-scan run, or schedule one.</p>}
      <div class="cost-totals">
        {overview?.latest.map((a) => (
          <article key={a.account.id} data-testid="cost-account">
            <h2>{a.account.name}</h2>
            <p>
              Month to date <strong>{usd(a.totals.monthToDate)}</strong>, forecast <strong class={a.totals.budget !== null && a.totals.forecast > a.totals.budget ? 'error' : ''}>{usd(a.totals.forecast)}</strong>
              {a.totals.budget !== null && <> of a {usd(a.totals.budget)} budget</>}
            </p>
            <p class="muted">
              {a.openFindings} open finding(s), about {usd(a.estimatedMonthlySavings)} a month to save — scanned <Link href={`/runs/${a.runId}`}>{formatTime(a.at)}</Link>
            </p>
          </article>
        ))}
      </div>
      {daily.x.length > 0 && <TimeChart format={dollars} title="Daily spend" x={daily.x} series={[{ label: 'spend', values: daily.values }]} />}
      {scans.x.length > 1 && (
        <TimeChart format={dollars} title="Month to date, forecast and savings at each scan (all accounts)" x={scans.x} series={[{ label: 'month to date', values: scans.mtd }, { label: 'forecast', values: scans.forecast }, { label: 'savings to make', values: scans.savings }]} />
      )}
      {overview && overview.latest.length > 0 && (
        <div class="cost-breakdowns">
          <Breakdown title="By service" amounts={overview.trends.byService} />
          <Breakdown title="By team tag" amounts={overview.trends.byTeam} />
          <Breakdown title="By account" amounts={overview.trends.byAccount} />
        </div>
      )}
      <h2>Findings</h2>
      <label class="compact">
        <span class="sr-only">Status</span>
        <select value={status} onChange={(e) => setStatus(e.currentTarget.value as 'open' | 'resolved')} aria-label="Findings status">
          <option value="open">open</option>
          <option value="resolved">resolved</option>
        </select>
      </label>
      <table data-testid="cost-findings">
        <thead>
          <tr>
            <th>Finding</th>
            <th>Resource</th>
            <th>Account / region</th>
            <th class="num">A month</th>
            <th>Seen</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {findings.map((f) => (
            <tr key={f.id}>
              <td>
                {f.type}
                <div class="muted">{f.detail}</div>
              </td>
              <td>
                <code>{f.resourceId}</code>
                {f.owner && <div class="muted">team {f.owner}</div>}
              </td>
              <td>
                {f.account.name} / {f.region}
              </td>
              <td class="num">{usd(f.status === 'resolved' ? (f.realisedMonthlySavings ?? 0) : f.monthlySavings)}</td>
              <td>
                {formatTime(f.firstSeenAt)} – {formatTime(f.status === 'resolved' ? f.resolvedAt! : f.lastSeenAt)}
              </td>
              <td>
                {f.actionRunId && (
                  <div>
                    <Link href={`/runs/${f.actionRunId}`}>action run</Link> {f.actionRunStatus && <StatusBadge status={f.actionRunStatus} />}
                  </div>
                )}
                {f.fixable && may(me, f.team, 'runs:start:cost-action') && (
                  <button type="button" onClick={() => void fix(f)}>
                    Fix
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {cursor && (
        <button type="button" onClick={() => void load(cursor)}>
          More
        </button>
      )}
    </section>
  );
}
