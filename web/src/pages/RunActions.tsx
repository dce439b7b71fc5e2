import { useState } from 'preact/hooks';
import { isTerminal, type RunView } from '../../../contracts/runs.ts';
import { ApiError, post } from '../client/http.ts';
import { may, type Me } from '../client/me.ts';

/**
 * Approve / Reject (with a comment) while the run waits, Cancel while it runs — each shown only when
 * the caller's role in the run's team allows it. The API checks again; this only hides dead buttons.
 */
export function RunActions({ run, me, onChanged }: { run: RunView; me: Me | null; onChanged: (r: RunView) => void }) {
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const canDecide = run.status === 'awaiting_approval' && may(me, run.team, 'runs:approve');
  const canCancel = !isTerminal(run.status) && may(me, run.team, 'runs:cancel');
  if (!canDecide && !canCancel) return null;

  const act = async (action: 'approve' | 'reject' | 'cancel') => {
    if (action === 'cancel' && !confirm('Cancel this run? A running terraform process is stopped.')) return;
    setBusy(action);
    setError(null);
    try {
      onChanged(await post<RunView>(`/api/v1/runs/${run.id}/${action}`, action === 'cancel' ? {} : { comment }));
      setComment('');
    } catch (err) {
      setError(err instanceof ApiError ? err.message : 'The request failed; try again.');
    } finally {
      setBusy(null);
    }
  };

  return (
    <section class="card actions-card" aria-labelledby="actions-title">
      <h2 id="actions-title">{canDecide ? 'Approval' : 'Actions'}</h2>
      {canDecide && (
        <>
          <p>The plan is ready. Review it in the log, then approve to apply it or reject to stop.</p>
          <label for="decision-comment" class="label">
            Comment
          </label>
          <textarea id="decision-comment" rows={2} maxLength={2000} value={comment} onInput={(e) => setComment(e.currentTarget.value)} />
        </>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div class="actions">
        {canDecide && (
          <>
            <button type="button" class="approve" disabled={!!busy} onClick={() => void act('approve')}>
              {busy === 'approve' ? 'Approving…' : 'Approve'}
            </button>
            <button type="button" class="danger" disabled={!!busy} onClick={() => void act('reject')}>
              {busy === 'reject' ? 'Rejecting…' : 'Reject'}
            </button>
          </>
        )}
        {canCancel && (
          <button type="button" class="secondary" disabled={!!busy} onClick={() => void act('cancel')}>
            {busy === 'cancel' ? 'Cancelling…' : 'Cancel run'}
          </button>
        )}
      </div>
    </section>
  );
}
