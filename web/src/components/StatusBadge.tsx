import type { RunStatus } from '../../../contracts/runs.ts';

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

/** Colour plus a word, so the status never depends on colour alone. */
export function StatusBadge({ status }: { status: RunStatus }) {
  return (
    <span class={`badge badge-${status}`} data-status={status}>
      {LABELS[status] ?? status}
    </span>
  );
}
