/** How durations and times read on screen. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  return `${h}h ${String(m % 60).padStart(2, '0')}m`;
}

type Timed = { status: string; waitingMs: number; workingMs: number };
/** When each run object arrived from the API: its times are as of then, and grow from there while it is active. */
const received = new WeakMap<Timed, number>();

/**
 * Time working and time waiting for approval, as the API counted them when it answered, plus what
 * passed since in the run's current state (so they tick between fetches on the browser's clock).
 */
export function runTimes(run: Timed, now = Date.now()): { working: number; waiting: number } {
  let at = received.get(run);
  if (at === undefined) received.set(run, (at = now));
  const since = Math.max(0, now - at);
  return {
    working: run.workingMs + (run.status === 'running' ? since : 0),
    waiting: run.waitingMs + (run.status === 'awaiting_approval' ? since : 0),
  };
}

export function formatTime(iso: string | null): string {
  if (!iso) return '–';
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}
