import type { RunEvent } from '../../../contracts/events.ts';
import type { RunView } from '../../../contracts/runs.ts';

export type TimelineEntry = Pick<RunEvent, 'seq' | 'ts' | 'type' | 'level' | 'message' | 'data'>;

/**
 * What an entry says. A failure's text is shown once, above the log (RunError), so its status entry
 * only names the status; an ended cancel names who asked for it.
 */
function textOf(e: TimelineEntry, run: Pick<RunView, 'cancelRequest'>): string {
  const status = e.type === 'status' ? (e.data?.status as string | undefined) : undefined;
  if (status && e.data?.error) return `${status.replace('_', ' ')} (the error is shown above the log)`;
  if (status === 'cancelled' && run.cancelRequest) return `cancelled by ${run.cancelRequest.byEmail}`;
  return e.message;
}

/** The run's step, status and approval events in order, as an ordered list; a status entry has its status's colour. */
export function RunTimeline({ entries, run }: { entries: TimelineEntry[]; run: Pick<RunView, 'createdAt' | 'cancelRequest'> }) {
  const t0 = Date.parse(run.createdAt);
  return (
    <section aria-labelledby="timeline-title" class="card">
      <h2 id="timeline-title">Timeline</h2>
      <ol class="timeline" data-testid="timeline">
        {entries.map((e) => {
          const status = e.type === 'status' ? (e.data?.status as string | undefined) : undefined;
          return (
            <li key={e.seq} class={`tl-${e.type} tl-${e.level}${status ? ` tl-is-${status}` : ''}`} data-status={status}>
              <span class="tl-dot" aria-hidden="true" />
              <span class="tl-msg">{textOf(e, run)}</span>
              <time class="muted small" dateTime={e.ts} title={new Date(e.ts).toLocaleString()}>
                +{Math.max(0, Math.round((Date.parse(e.ts) - t0) / 1000))}s
              </time>
            </li>
          );
        })}
      </ol>
    </section>
  );
}
