import type { RunEvent } from '../../../contracts/events.ts';

export type TimelineEntry = Pick<RunEvent, 'seq' | 'ts' | 'type' | 'level' | 'message'>;

/** The run's step, status and approval events in order, as an ordered list. */
export function RunTimeline({ entries, startedAt }: { entries: TimelineEntry[]; startedAt: string }) {
  const t0 = Date.parse(startedAt);
  return (
    <section aria-labelledby="timeline-title" class="card">
      <h2 id="timeline-title">Timeline</h2>
      <ol class="timeline" data-testid="timeline">
        {entries.map((e) => (
          <li key={e.seq} class={`tl-${e.type} tl-${e.level}`}>
            <span class="tl-dot" aria-hidden="true" />
            <span class="tl-msg">{e.message}</span>
            <time class="muted small" dateTime={e.ts} title={new Date(e.ts).toLocaleString()}>
              +{Math.max(0, Math.round((Date.parse(e.ts) - t0) / 1000))}s
            </time>
          </li>
        ))}
      </ol>
    </section>
  );
}
