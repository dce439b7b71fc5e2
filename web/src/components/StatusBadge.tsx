import { isTerminal, type RunStatus } from '../../../contracts/runs.ts';

const LABELS: Record<RunStatus, string> = {
  queued: 'Queued',
  running: 'Running',
  awaiting_approval: 'Awaiting approval',
  succeeded: 'Succeeded',
  failed: 'Failed',
  discarded: 'Discarded',
  cancelled: 'Cancelled',
  timed_out: 'Timed out',
};

/**
 * Colour plus a word, so the status never depends on colour alone. An active run someone asked to
 * cancel reads "Cancelling…" (neutral) from the moment the API accepted the request.
 */
export function StatusBadge({ status, cancelling = false }: { status: RunStatus; cancelling?: boolean }) {
  return (
    <span class={`badge badge-${cancelling ? 'cancelling' : status}`} data-status={status} data-cancelling={cancelling || undefined}>
      {cancelling ? 'Cancelling…' : (LABELS[status] ?? status)}
    </span>
  );
}

/** The badge of a run, cancelling included. */
export function RunBadge({ run }: { run: { status: RunStatus; cancelRequest: unknown } }) {
  return <StatusBadge status={run.status} cancelling={run.cancelRequest !== null && !isTerminal(run.status)} />;
}
