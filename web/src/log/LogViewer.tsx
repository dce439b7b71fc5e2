import { useEffect, useRef, useState } from 'preact/hooks';
import { LogView, type LogViewState } from './log-view.ts';

type Props = {
  /** Receives the view once mounted; the run page appends to it directly, outside Preact renders. */
  onReady: (view: LogView | null) => void;
  onDownload: () => Promise<void>;
};

/** Toolbar (follow, search, download) around the virtualised LogView. */
export function LogViewer({ onReady, onDownload }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const view = useRef<LogView | null>(null);
  const [state, setState] = useState<LogViewState>({ lines: 0, follow: true, matches: 0, match: -1 });
  const [query, setQuery] = useState('');
  const [downloading, setDownloading] = useState(false);

  useEffect(() => {
    let last = '';
    // Only re-render the toolbar when what it shows changed, not on every frame of output.
    const v = new LogView(box.current!, (s) => {
      const key = `${s.lines}|${s.follow}|${s.matches}|${s.match}`;
      if (key !== last) {
        last = key;
        setState(s);
      }
    });
    view.current = v;
    onReady(v);
    // The log takes the rest of the window below it, so its newest line is on screen while following
    // (a fixed 60vh ran past the bottom of a 900 px window under the run's header).
    const el = box.current!;
    const fit = () => {
      const top = el.getBoundingClientRect().top + window.scrollY;
      el.style.height = `${Math.max(240, Math.floor(window.innerHeight - top - 12))}px`;
    };
    fit();
    const layout = new ResizeObserver(fit);
    layout.observe(document.body);
    addEventListener('resize', fit);
    return () => {
      layout.disconnect();
      removeEventListener('resize', fit);
      v.destroy();
      onReady(null);
    };
  }, []);

  const onSearchKey = (e: KeyboardEvent) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      view.current?.step(e.shiftKey ? -1 : 1);
    } else if (e.key === 'Escape') {
      setQuery('');
      view.current?.search('');
    }
  };

  return (
    <section class="log" aria-labelledby="log-title">
      <div class="log-toolbar">
        <h2 id="log-title">Log</h2>
        <span class="muted small" data-testid="log-count">
          {state.lines.toLocaleString()} lines
        </span>
        <button type="button" class="secondary small" aria-pressed={state.follow} onClick={() => view.current?.setFollow(!state.follow)} data-testid="log-follow">
          {state.follow ? 'Pause follow' : 'Follow'}
        </button>
        <label class="log-search">
          <span class="sr-only">Search the log</span>
          <input
            type="search"
            placeholder="Search log"
            value={query}
            onInput={(e) => {
              setQuery(e.currentTarget.value);
              view.current?.search(e.currentTarget.value);
            }}
            onKeyDown={onSearchKey}
            aria-describedby="log-matches"
          />
        </label>
        <span id="log-matches" class="muted small" aria-live="polite">
          {query ? (state.matches ? `${state.match + 1} of ${state.matches}` : 'no matches') : ''}
        </span>
        <button type="button" class="secondary small" aria-label="Previous match" disabled={!state.matches} onClick={() => view.current?.step(-1)}>
          ↑
        </button>
        <button type="button" class="secondary small" aria-label="Next match" disabled={!state.matches} onClick={() => view.current?.step(1)}>
          ↓
        </button>
        <button
          type="button"
          class="secondary small"
          disabled={downloading}
          onClick={() => {
            setDownloading(true);
            void onDownload().finally(() => setDownloading(false));
          }}
        >
          {downloading ? 'Preparing…' : 'Download log'}
        </button>
      </div>
      <div ref={box} class="logview" tabIndex={0} role="log" aria-live="off" aria-label="Run log output" data-testid="log" />
    </section>
  );
}
