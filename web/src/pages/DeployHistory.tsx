import { useEffect, useState } from 'preact/hooks';
import type { DeploySummary } from '../../../contracts/kinds/deploy.ts';
import type { RunView } from '../../../contracts/runs.ts';
import { deployHistory, imagesText, liveRun } from '../client/deploys.ts';
import { ApiError } from '../client/http.ts';
import { RunBadge } from '../components/StatusBadge.tsx';
import { formatTime } from '../format.ts';
import { Link, useLocation } from '../router.tsx';

/**
 * One deploy target's history: what is live now (from the newest ended run) and every deploy before,
 * with what each found and left live, its automatic rollback, and which run a rollback undid.
 */
export function DeployHistoryPage() {
  const { search } = useLocation();
  const team = search.get('team') ?? '';
  const target = search.get('target') ?? '';
  const [runs, setRuns] = useState<RunView[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    setRuns(null);
    setError(null);
    if (!team || !target) return setError('Open this page from a deploy run: it needs a team and a target.');
    deployHistory(team, target).then(setRuns, (err: unknown) => setError(err instanceof ApiError ? err.message : 'The request failed; try again.'));
  }, [team, target]);
  const live = runs ? liveRun(runs) : undefined;
  const liveSummary = live?.summary as Partial<DeploySummary> | undefined;
  return (
    <section aria-labelledby="history-title">
      <h1 id="history-title">Deploys of {target || '…'}</h1>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {runs && (
        <p data-testid="history-live">
          Live now: <strong>{live ? imagesText(liveSummary?.live) : 'unknown (no deploy has ended yet)'}</strong>
          {live && (
            <span class="muted">
              {' '}
              (since <Link href={`/runs/${live.id}`}>run {live.id.slice(0, 8)}</Link>)
            </span>
          )}
        </p>
      )}
      <div class="table-wrap">
        <table class="runs" aria-busy={runs === null && !error} data-testid="deploy-history">
          <caption class="sr-only">Deploy runs of this target, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Status</th>
              <th scope="col">Run</th>
              <th scope="col">Before</th>
              <th scope="col">After</th>
              <th scope="col">Created</th>
              <th scope="col">Note</th>
            </tr>
          </thead>
          <tbody>
            {(runs ?? []).map((r) => {
              const s = r.summary as Partial<DeploySummary> | null;
              const rollbackOf = (r.params as { rollbackOf?: string }).rollbackOf;
              return (
                <tr key={r.id} data-run-id={r.id}>
                  <td data-label="Status">
                    <RunBadge run={r} />
                  </td>
                  <td data-label="Run">
                    <Link href={`/runs/${r.id}`}>{r.id.slice(0, 8)}</Link>
                  </td>
                  <td data-label="Before">{imagesText(s?.previous)}</td>
                  <td data-label="After">{imagesText(s?.live)}</td>
                  <td data-label="Created">
                    <time dateTime={r.createdAt}>{formatTime(r.createdAt)}</time>
                  </td>
                  <td data-label="Note">
                    {rollbackOf && (
                      <span>
                        rolls back <Link href={`/runs/${rollbackOf}`}>run {rollbackOf.slice(0, 8)}</Link>
                      </span>
                    )}
                    {s?.rolledBack && <span>rolled back automatically: {s.rolledBack.reason}</span>}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </section>
  );
}
