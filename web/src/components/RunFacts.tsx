import type { PlanSummary, RunView } from '../../../contracts/runs.ts';
import { formatDuration, runTimes } from '../format.ts';

/** The plan summary of a run that has one (Terraform's add / change / destroy counts). */
export function summaryOf(run: Pick<RunView, 'summary'>): PlanSummary | null {
  const s = run.summary as Partial<PlanSummary> | null;
  return s && typeof s.add === 'number' ? { add: s.add, change: s.change ?? 0, destroy: s.destroy ?? 0 } : null;
}

/** "+1 ~0 −2" with words for screen readers, for a table cell. */
export function PlanSummaryInline({ run }: { run: Pick<RunView, 'summary'> }) {
  const s = summaryOf(run);
  if (!s) return <span class="muted">–</span>;
  return (
    <span class="plan-inline" data-testid="plan-inline" aria-label={`${s.add} to add, ${s.change} to change, ${s.destroy} to destroy`}>
      <span class="add">+{s.add}</span> <span class="change">~{s.change}</span> <span class="destroy">−{s.destroy}</span>
    </span>
  );
}

/** Time working and, apart, time spent waiting for a person's approval. */
export function RunTimes({ run }: { run: Pick<RunView, 'status' | 'waitingMs' | 'workingMs'> }) {
  const { working, waiting } = runTimes(run);
  return (
    <span class="run-times" data-testid="run-times">
      <span data-testid="working">{formatDuration(working)} working</span>
      {waiting > 0 && (
        <span class="muted" data-testid="waiting">
          {' '}
          · {formatDuration(waiting)} waiting for approval
        </span>
      )}
    </span>
  );
}
