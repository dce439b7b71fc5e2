import { RequesterName } from '../components/RequesterName.tsx';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { RunAnnouncement } from '../../../contracts/events.ts';
import { isTerminal, type RunView } from '../../../contracts/runs.ts';
import { get, query } from '../client/http.ts';
import { useKinds } from '../client/kinds.ts';
import { canStartRuns, useMe } from '../client/me.ts';
import { live } from '../client/socket.ts';
import { RunBadge } from '../components/StatusBadge.tsx';
import { PlanSummaryInline, RunTimes } from '../components/RunFacts.tsx';
import { formatTime } from '../format.ts';
import { teamPref } from '../prefs.ts';
import { Link, navigate, useLocation } from '../router.tsx';
import { apiQuery, matches, RunFilters, URL_FILTERS, type Filters } from './RunFilters.tsx';

type Page = { runs: RunView[]; nextCursor: string | null };

const PAGE_SIZE = 25;

/** Re-renders every second while something on screen is still running, so durations tick. */
function useTick(active: boolean): void {
  const [, setT] = useState(0);
  useEffect(() => {
    if (!active) return;
    const id = setInterval(() => setT((t) => t + 1), 1000);
    return () => clearInterval(id);
  }, [active]);
}

export function RunsPage() {
  const { search } = useLocation();
  const [team, setTeam] = teamPref.use();
  const filters = { team } as Filters;
  for (const name of URL_FILTERS) filters[name] = search.get(name) ?? '';
  const key = JSON.stringify(filters);
  const [runs, setRuns] = useState<RunView[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const kinds = useKinds();
  const me = useMe();
  const filtersRef = useRef(filters);
  filtersRef.current = filters;

  // Only the latest request's answer is shown: an earlier one (other filters) may come back later.
  const latest = useRef(0);
  const load = async (cursor?: string) => {
    const mine = ++latest.current;
    setLoading(true);
    try {
      const page = await get<Page>(`/api/v1/runs${query({ ...apiQuery(filters), limit: PAGE_SIZE, cursor })}`);
      if (mine !== latest.current) return;
      setRuns((prev) => (cursor ? [...prev, ...page.runs.filter((r) => !prev.some((p) => p.id === r.id))] : page.runs));
      setNext(page.nextCursor);
      setError(null);
    } catch (err) {
      if (mine === latest.current) setError((err as Error).message);
    } finally {
      if (mine === latest.current) setLoading(false);
    }
  };

  useEffect(() => {
    void load();
  }, [key]);

  // Live: a change to a listed run refreshes that row; a new run matching the filters goes on top.
  useEffect(() => {
    const refetch = async (a: RunAnnouncement) => {
      const run = await get<RunView>(`/api/v1/runs/${a.id}`).catch(() => null);
      if (!run) return;
      setRuns((prev) => {
        const at = prev.findIndex((r) => r.id === run.id);
        if (at >= 0) return prev.map((r) => (r.id === run.id ? run : r));
        return matches(filtersRef.current, run) ? [run, ...prev] : prev;
      });
    };
    return live.watchRuns((a) => void refetch(a));
  }, []);

  useTick(runs.some((r) => !isTerminal(r.status)));

  const setFilter = (name: keyof Filters, value: string) => {
    if (name === 'team') return setTeam(value);
    const q = new URLSearchParams(location.search);
    if (value) q.set(name, value);
    else q.delete(name);
    const s = q.toString();
    navigate(`/${s ? `?${s}` : ''}`, true);
  };

  return (
    <section aria-labelledby="runs-title">
      <div class="page-head">
        <h1 id="runs-title">Runs</h1>
        {canStartRuns(me) && (
          <Link href="/runs/new" class="button">
            Start a run
          </Link>
        )}
      </div>
      <RunFilters filters={filters} kinds={kinds} me={me} set={setFilter} />
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div class="table-wrap">
        <table class="runs" aria-busy={loading}>
          <caption class="sr-only">Runs, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Status</th>
              <th scope="col">Kind</th>
              <th scope="col">Target</th>
              <th scope="col">Team</th>
              <th scope="col">Started by</th>
              <th scope="col">Created</th>
              <th scope="col">Plan</th>
              <th scope="col">Approval</th>
              <th scope="col">Time</th>
            </tr>
          </thead>
          <tbody>
            {runs.map((r) => (
              <tr key={r.id} data-run-id={r.id}>
                <td data-label="Status">
                  <RunBadge run={r} />
                </td>
                <td data-label="Kind">{r.kind}</td>
                <td data-label="Target">
                  <Link href={`/runs/${r.id}`}>{r.target ?? r.id.slice(0, 8)}</Link>
                  {r.step && !isTerminal(r.status) && <span class="muted"> · {r.step}</span>}
                </td>
                <td data-label="Team">{r.team}</td>
                <td data-label="Started by">
                  <RequesterName requester={r.requester} />
                </td>
                <td data-label="Created">
                  <time dateTime={r.createdAt}>{formatTime(r.createdAt)}</time>
                </td>
                <td data-label="Plan">
                  <PlanSummaryInline run={r} />
                </td>
                <td data-label="Approval">
                  {r.approval ? (
                    <span data-testid="approver">
                      {r.approval.decision === 'approved' ? 'approved' : 'rejected'} by {r.approval.byEmail}
                    </span>
                  ) : (
                    <span class="muted">–</span>
                  )}
                </td>
                <td data-label="Time">
                  <RunTimes run={r} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {!loading && runs.length === 0 && <p class="muted">No runs match these filters.</p>}
      {next && (
        <button type="button" class="secondary load-more" disabled={loading} onClick={() => void load(next)}>
          {loading ? 'Loading…' : 'Load older runs'}
        </button>
      )}
    </section>
  );
}
