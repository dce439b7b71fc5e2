import { useState } from 'preact/hooks';
import type { LogView } from '../log/log-view.ts';

/** The lines of a failure worth looking for in the log: its text without the "terraform plan failed:" prefix or box drawing. */
function cluesOf(error: string): string[] {
  return error
    .split('\n')
    .map((l) => l.replace(/^[\w ]+ failed: /, '').replace(/^[│╷╵|\s]+/, '').trim())
    .filter((l) => l.length >= 6);
}

/**
 * Why the run failed, as the tool wrote it: line breaks kept, monospace, shown once (the timeline
 * refers here), with a way to the line of the log where it appears.
 */
export function RunError({ error, log }: { error: string; log: () => LogView | null }) {
  const [found, setFound] = useState<number | null>(null);
  const show = () => {
    const view = log();
    if (!view) return;
    for (const clue of cluesOf(error)) {
      const i = view.find(clue);
      if (i >= 0) {
        view.reveal(i);
        setFound(i);
        return;
      }
    }
    setFound(-1);
  };
  return (
    <div class="error run-error" role="alert" data-testid="run-error">
      <pre>{error}</pre>
      <button type="button" class="secondary small" onClick={show}>
        Show in the log
      </button>
      <span class="small" aria-live="polite">
        {found === null ? '' : found >= 0 ? ` line ${found + 1} of the log` : ' not found in the log'}
      </span>
    </div>
  );
}
