import { useState } from 'preact/hooks';
import { isTerminal, type RunView } from '../../../contracts/runs.ts';
import { ApiError, post } from '../client/http.ts';
import { may, type Me } from '../client/me.ts';
import { formatTime } from '../format.ts';
import { navigate } from '../router.tsx';

type Action = 'approve' | 'reject' | 'cancel' | 'force' | 'rerun';
const CONFIRM: Partial<Record<Action, string>> = {
  cancel: 'Cancel this run? Its running process is asked to stop.',
  force: 'Force cancel kills the process at once. The tool may not save its state (for Terraform: changes it made may be missing from the state). Force cancel?',
};

/**
 * Approve / Reject (with a comment) while the run waits, Cancel while it runs, then Force cancel once
 * a cancel was asked for and the run still goes on, Re-run once it ended — each shown only when the
 * caller's role in the run's team allows it. The API checks again; this only hides dead buttons.
 * `onDecided` runs after an approval or rejection, whose buttons then go away (the page moves focus).
 */
export function RunActions({ run, me, onChanged, onDecided }: { run: RunView; me: Me | null; onChanged: (r: RunView) => void; onDecided: () => void }) {
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState<Action | null>(null);
  const [error, setError] = useState<string | null>(null);
  const active = !isTerminal(run.status);
  // The wait's start comes with the summary it shows (a live status event alone brings neither): the
  // decision names it, so it can never answer a later plan's wait.
  const canDecide = run.status === 'awaiting_approval' && run.waitingSince !== null && may(me, run.team, `runs:approve:${run.kind}`);
  const canCancel = active && !run.cancelRequest && may(me, run.team, 'runs:cancel');
  const canForce = active && !!run.cancelRequest && !run.cancelRequest.force && may(me, run.team, 'runs:cancel');
  const canRerun = !active && may(me, run.team, `runs:start:${run.kind}`);
  if (!canDecide && !canCancel && !canForce && !canRerun && !run.cancelRequest) return null;

  const act = async (action: Action) => {
    const question = CONFIRM[action];
    if (question && !confirm(question)) return;
    setBusy(action);
    setError(null);
    try {
      if (action === 'rerun') {
        const next = await post<RunView>(`/api/v1/runs/${run.id}/rerun`);
        navigate(`/runs/${next.id}`);
        return;
      }
      const path = action === 'force' ? 'cancel' : action;
      const body = action === 'force' ? { force: true } : action === 'cancel' ? {} : { comment, waitingSince: run.waitingSince };
      onChanged(await post<RunView>(`/api/v1/runs/${run.id}/${path}`, body));
      setComment('');
      if (action === 'approve' || action === 'reject') onDecided();
    } catch (err) {
      setError(err instanceof ApiError ? err.message : 'The request failed; try again.');
    } finally {
      setBusy(null);
    }
  };
  const cr = run.cancelRequest;

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
      {cr && active && (
        <p class="notice" role="status" data-testid="cancel-request">
          {cr.force ? 'Force cancel' : 'Cancel'} requested by {cr.byEmail} at {formatTime(cr.at)}; waiting for the run to stop…
        </p>
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
        {canForce && (
          <button type="button" class="danger" disabled={!!busy} onClick={() => void act('force')} aria-describedby="force-warning">
            {busy === 'force' ? 'Killing…' : 'Force cancel'}
          </button>
        )}
        {canRerun && (
          <button type="button" class="secondary" disabled={!!busy} onClick={() => void act('rerun')}>
            {busy === 'rerun' ? 'Starting…' : 'Re-run'}
          </button>
        )}
      </div>
      {canForce && (
        <p class="help" id="force-warning">
          Force cancel kills the process at once if it does not stop: the tool&apos;s state may be lost.
        </p>
      )}
    </section>
  );
}
