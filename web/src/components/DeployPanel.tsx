import { useEffect, useState } from 'preact/hooks';
import type { DeploySummary, RolloutProgress } from '../../../contracts/kinds/deploy.ts';
import type { RunView } from '../../../contracts/runs.ts';
import { deployHistory, historyHref } from '../client/deploys.ts';
import { ApiError, post } from '../client/http.ts';
import { may, type Me } from '../client/me.ts';
import { Link, navigate } from '../router.tsx';

const images = (m: Record<string, string> | undefined) => [...new Set(Object.values(m ?? {}))].join(', ') || '—';

/**
 * A deploy run's versions (what was live before, what is live now), its rollout as a bar of replicas
 * (from the latest `metric` event), an automatic rollback when there was one, and Roll back for a
 * succeeded deploy (a new run restoring the previous version: POST /runs/:id/rollback).
 */
export function DeployPanel({ run, progress, me }: { run: RunView; progress: RolloutProgress | null; me: Me | null }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const s = run.summary as Partial<DeploySummary> | null;
  const rollbackOf = (run.params as { rollbackOf?: string }).rollbackOf;
  // Runs that rolled this one back, from the target's history (the link's other direction).
  const [undoneBy, setUndoneBy] = useState<RunView[]>([]);
  useEffect(() => {
    if (!run.target) return;
    deployHistory(run.team, run.target).then((runs) => setUndoneBy(runs.filter((r) => (r.params as { rollbackOf?: string }).rollbackOf === run.id)), () => undefined);
  }, [run.id, run.team, run.target, run.status]);
  const canRollBack = run.status === 'succeeded' && may(me, run.team, 'runs:start:deploy') && s?.previous && Object.keys(s.previous).length > 0;
  const rollBack = async () => {
    setBusy(true);
    setError(null);
    try {
      const next = await post<RunView>(`/api/v1/runs/${run.id}/rollback`);
      navigate(`/runs/${next.id}`);
    } catch (err) {
      setError(err instanceof ApiError ? err.message : 'The request failed; try again.');
    } finally {
      setBusy(false);
    }
  };
  const pct = (n: number) => (progress && progress.replicas > 0 ? Math.min(100, Math.round((100 * n) / progress.replicas)) : 0);
  return (
    <section class="card deploy-card" aria-labelledby="deploy-title" data-testid="deploy-panel">
      <h2 id="deploy-title">Deploy</h2>
      {s && (
        <dl class="facts">
          <dt>Before</dt>
          <dd data-testid="deploy-previous">{images(s.previous)}</dd>
          <dt>Live</dt>
          <dd data-testid="deploy-live">{images(s.live)}</dd>
        </dl>
      )}
      {rollbackOf && (
        <p class="muted">
          Rolls back <Link href={`/runs/${rollbackOf}`}>run {rollbackOf.slice(0, 8)}</Link>
        </p>
      )}
      {undoneBy.map((r) => (
        <p class="muted" key={r.id} data-testid="deploy-rolled-back-by">
          Rolled back by <Link href={`/runs/${r.id}`}>run {r.id.slice(0, 8)}</Link> ({r.status})
        </p>
      ))}
      {run.target && (
        <p>
          <Link href={historyHref(run.team, run.target)}>History of this target</Link>
        </p>
      )}
      {progress && (
        <div data-testid="rollout-progress">
          <div
            class="rollout-bar"
            role="progressbar"
            aria-label="Replicas updated"
            aria-valuemin={0}
            aria-valuemax={progress.replicas}
            aria-valuenow={progress.updated}
          >
            <span class="rollout-updated" style={{ width: `${pct(progress.updated)}%` }} />
          </div>
          <p class="muted">
            {progress.updated}/{progress.replicas} updated, {progress.ready} ready, {progress.available} available
          </p>
        </div>
      )}
      {s?.rolledBack && (
        <p class="notice" role="status" data-testid="deploy-rolled-back">
          Rolled back automatically to {images(s.rolledBack.to)}: {s.rolledBack.reason}
        </p>
      )}
      {canRollBack && (
        <button type="button" class="secondary" disabled={busy} onClick={() => void rollBack()}>
          {busy ? 'Starting…' : `Roll back to ${images(s?.previous)}`}
        </button>
      )}
      {error && <p role="alert">{error}</p>}
    </section>
  );
}
