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

/** A run's duration: from start (or creation) to finish, or to now while it is still going. */
export function runDuration(run: { createdAt: string; startedAt: string | null; finishedAt: string | null }, now = Date.now()): string {
  const from = Date.parse(run.startedAt ?? run.createdAt);
  const to = run.finishedAt ? Date.parse(run.finishedAt) : now;
  return formatDuration(to - from);
}

export function formatTime(iso: string | null): string {
  if (!iso) return '–';
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}
