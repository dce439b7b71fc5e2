import { useEffect, useMemo, useState } from 'preact/hooks';
import type { PlatformMetrics } from '../../../contracts/metrics.ts';
import { get, query } from '../client/http.ts';
import { TimeChart } from '../components/TimeChart.tsx';
import { teamPref } from '../prefs.ts';

const seconds = (ms: number) => (ms >= 60_000 ? `${(ms / 60_000).toFixed(1)} min` : `${(ms / 1000).toFixed(1)} s`);

/**
 * The platform's own figures (GET /api/v1/metrics) over the teams the user can see: runs per day by
 * kind (uPlot), the queue now, each kind's outcomes and how long its runs work (approval waits left out).
 */
export function MetricsPage() {
  const [team] = teamPref.use();
  const [days, setDays] = useState(14);
  const [m, setM] = useState<PlatformMetrics | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    get<PlatformMetrics>(`/api/v1/metrics${query({ team: team || undefined, days })}`).then(setM, (e: Error) => setError(e.message));
  }, [team, days]);

  const perDay = useMemo(() => {
    if (!m) return { x: [], series: [] };
    const dayList = [...new Set(m.perDay.map((d) => d.day))].sort();
    const kinds = [...new Set(m.perDay.map((d) => d.kind))].sort();
    const count = (day: string, kind: string) => m.perDay.find((d) => d.day === day && d.kind === kind)?.runs ?? 0;
    return { x: dayList.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000), series: kinds.map((k) => ({ label: k, values: dayList.map((d) => count(d, k)) })) };
  }, [m]);
  const kinds = useMemo(() => [...new Set((m?.byKindStatus ?? []).map((r) => r.kind))].sort(), [m]);

  return (
    <section aria-labelledby="metrics-title">
      <div class="page-head">
        <h1 id="metrics-title">Metrics</h1>
        <label>
          Days{' '}
          <select value={days} onChange={(e) => setDays(Number((e.target as HTMLSelectElement).value))}>
            {[1, 7, 14, 30, 90].map((d) => (
              <option key={d} value={d}>{d}</option>
            ))}
          </select>
        </label>
      </div>
      {error && <p role="alert" class="error">{error}</p>}
      {!m && !error && <p aria-busy="true">Loading…</p>}
      {m && (
        <>
          <p>
            Now: <strong>{m.active.queued}</strong> queued, <strong>{m.active.running}</strong> running, <strong>{m.active.awaitingApproval}</strong> awaiting approval.
          </p>
          {perDay.x.length > 0 ? <TimeChart title="Runs per day" x={perDay.x} series={perDay.series} /> : <p class="muted">No runs in this window.</p>}
          <table class="compact">
            <caption>By kind</caption>
            <thead>
              <tr>
                <th>kind</th>
                <th class="num">runs</th>
                <th class="num">succeeded</th>
                <th class="num">failed</th>
                <th class="num">work p50</th>
                <th class="num">work p95</th>
              </tr>
            </thead>
            <tbody>
              {kinds.map((k) => {
                const of = (status: string) => m.byKindStatus.filter((r) => r.kind === k && (status === '*' || r.status === status)).reduce((n, r) => n + r.runs, 0);
                const d = m.durations.find((x) => x.kind === k);
                return (
                  <tr key={k}>
                    <td>{k}</td>
                    <td class="num">{of('*')}</td>
                    <td class="num">{of('succeeded')}</td>
                    <td class="num">{of('failed') + of('timed_out')}</td>
                    <td class="num">{d ? seconds(d.p50Ms) : '—'}</td>
                    <td class="num">{d ? seconds(d.p95Ms) : '—'}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
