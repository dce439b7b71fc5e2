import type { Override, RotationLayer, Shift } from '../../contracts/alerts/index.ts';
import { dateOfDayNumber, dayNumber, instantOf, wallTime } from './zone.ts';

type Layered = Pick<RotationLayer, 'name' | 'users' | 'rotation' | 'lengthDays' | 'handoffTime' | 'timeZone' | 'start' | 'weekdays'>;
export type ScheduleShape = { layers: Layered[]; overrides: Override[] };
export type OnCall = { user: string | null; layer: string | null };

const daysPerTurn = (l: Layered) => (l.rotation === 'daily' ? 1 : l.rotation === 'weekly' ? 7 : l.lengthDays!);
const parseDate = (s: string) => {
  const [year, month, day] = s.split('-').map(Number) as [number, number, number];
  return { year, month, day };
};
const handoffParts = (l: Layered) => l.handoffTime.split(':').map(Number) as [number, number];

/** The instant turn `k` of the layer starts (turn 0 = the layer's start date at its handoff time). */
export function turnStart(l: Layered, k: number): number {
  const [h, m] = handoffParts(l);
  return instantOf(dateOfDayNumber(dayNumber(parseDate(l.start)) + k * daysPerTurn(l)), h, m, l.timeZone);
}

/** The turn in progress at `t`, or -1 before the layer's first turn. */
export function turnAt(l: Layered, t: number): number {
  const local = wallTime(t, l.timeZone);
  let k = Math.floor((dayNumber(local) - dayNumber(parseDate(l.start))) / daysPerTurn(l));
  // The local date's turn may start later that day (before the handoff time) or, near a DST change, be off by one.
  while (k >= 0 && turnStart(l, k) > t) k--;
  while (turnStart(l, k + 1) <= t) k++;
  return k;
}

function layerAt(l: Layered, t: number): string | null {
  if (l.weekdays && !l.weekdays.includes(wallTime(t, l.timeZone).weekday)) return null;
  const k = turnAt(l, t);
  return k < 0 ? null : l.users[k % l.users.length]!;
}

/** Who is on call at `t`: the latest override covering it, else the highest layer that applies. */
export function onCallAt(s: ScheduleShape, t: number): OnCall {
  for (let i = s.overrides.length - 1; i >= 0; i--) {
    const o = s.overrides[i]!;
    if (Date.parse(o.from) <= t && t < Date.parse(o.to)) return { user: o.user, layer: null };
  }
  for (let i = s.layers.length - 1; i >= 0; i--) {
    const user = layerAt(s.layers[i]!, t);
    if (user) return { user, layer: s.layers[i]!.name };
  }
  return { user: null, layer: null };
}

/** Every instant in [from, to) at which the answer of onCallAt may change. */
function boundaries(s: ScheduleShape, from: number, to: number): number[] {
  const points = new Set<number>([from]);
  for (const l of s.layers) {
    for (let k = Math.max(0, turnAt(l, from)); ; k++) {
      const start = turnStart(l, k);
      if (start >= to) break;
      if (start > from) points.add(start);
    }
    if (l.weekdays) {
      // A weekday restriction changes at each local midnight.
      const first = dayNumber(wallTime(from, l.timeZone));
      for (let d = first + 1; ; d++) {
        const midnight = instantOf(dateOfDayNumber(d), 0, 0, l.timeZone);
        if (midnight >= to) break;
        if (midnight > from) points.add(midnight);
      }
    }
  }
  for (const o of s.overrides) {
    for (const edge of [Date.parse(o.from), Date.parse(o.to)]) if (edge > from && edge < to) points.add(edge);
  }
  return [...points].sort((a, b) => a - b);
}

/** The shifts between `from` and `to`: who is on call, from when to when, merged where nothing changes. */
export function shiftsBetween(s: ScheduleShape, from: number, to: number): Shift[] {
  const points = boundaries(s, from, to);
  const shifts: Shift[] = [];
  points.forEach((start, i) => {
    const end = points[i + 1] ?? to;
    const who = onCallAt(s, start);
    const last = shifts[shifts.length - 1];
    if (last && last.user === who.user && last.layer === who.layer) last.to = new Date(end).toISOString();
    else shifts.push({ user: who.user, layer: who.layer, from: new Date(start).toISOString(), to: new Date(end).toISOString() });
  });
  return shifts;
}
