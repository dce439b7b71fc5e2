/**
 * Wall-clock time in an IANA zone ↔ instants, with only Intl (the runtime's tz database): enough for
 * handoffs, which are "HH:MM local on day D".
 */
const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric', weekday: 'short' });
    formatters.set(zone, f);
  }
  return f;
}

export type WallTime = { year: number; month: number; day: number; hour: number; minute: number; second: number; weekday: number };
const WEEKDAYS: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

export function wallTime(instantMs: number, zone: string): WallTime {
  const parts = Object.fromEntries(formatter(zone).formatToParts(new Date(instantMs)).map((p) => [p.type, p.value]));
  return { year: +parts.year!, month: +parts.month!, day: +parts.day!, hour: +parts.hour!, minute: +parts.minute!, second: +parts.second!, weekday: WEEKDAYS[parts.weekday!]! };
}

/** The zone's offset from UTC at an instant, in ms (positive east of Greenwich). */
function offsetAt(instantMs: number, zone: string): number {
  const w = wallTime(instantMs, zone);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - Math.floor(instantMs / 1000) * 1000;
}

/**
 * The instant a wall-clock time happens in `zone`. A time that happens twice (clocks going back) is
 * its first occurrence; one that never happens (clocks going forward) is moved forward by the gap,
 * as a person would: "09:00 didn't exist, so it happened at 10:00".
 */
export function instantOf(date: { year: number; month: number; day: number }, hour: number, minute: number, zone: string): number {
  const asUtc = Date.UTC(date.year, date.month - 1, date.day, hour, minute);
  const before = offsetAt(asUtc - 86_400_000, zone);
  const after = offsetAt(asUtc + 86_400_000, zone);
  // Try the earlier offset first (the first occurrence when a time happens twice).
  for (const offset of before >= after ? [before, after] : [after, before]) {
    const candidate = asUtc - offset;
    if (offsetAt(candidate, zone) === offset) return candidate;
  }
  // In a gap: neither offset maps back to this wall time; the pre-change offset lands after the gap.
  return asUtc - before;
}

/** Day number of a calendar date (days since 1970-01-01), for counting whole local days. */
export const dayNumber = (d: { year: number; month: number; day: number }) => Math.round(Date.UTC(d.year, d.month - 1, d.day) / 86_400_000);
export function dateOfDayNumber(n: number): { year: number; month: number; day: number } {
  const d = new Date(n * 86_400_000);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}
