import { describe, expect, it } from '@jest/globals';
import type { RotationLayer } from '../../contracts/alerts/index.ts';
import { onCallAt, shiftsBetween, turnStart } from '../../core/oncall/rotation.ts';

const [alice, bob, carol, dave] = ['a', 'b', 'c', 'd'].map((c) => `${c.repeat(8)}-0000-4000-8000-000000000000`) as [string, string, string, string];
const t = (iso: string) => Date.parse(iso);
const layer = (over: Partial<RotationLayer>): RotationLayer => ({ name: 'primary', users: [alice, bob], rotation: 'daily', handoffTime: '09:00', timeZone: 'UTC', start: '2026-03-01', ...over });
const hours = (s: { from: string; to: string }) => (Date.parse(s.to) - Date.parse(s.from)) / 3_600_000;

describe('on-call rotations', () => {
  it('a daily 09:00 Berlin handoff stays at 09:00 local across the spring DST change: that turn is 23 hours', () => {
    const s = { layers: [layer({ timeZone: 'Europe/Berlin' })], overrides: [] };
    // 2026-03-29 02:00 CET → 03:00 CEST. Before it 09:00 local is 08:00Z, after it 07:00Z.
    const shifts = shiftsBetween(s, t('2026-03-27T12:00:00Z'), t('2026-03-31T12:00:00Z'));
    expect(shifts.map((x) => [x.user, x.from, x.to])).toEqual([
      [alice, '2026-03-27T12:00:00.000Z', '2026-03-28T08:00:00.000Z'],
      [bob, '2026-03-28T08:00:00.000Z', '2026-03-29T07:00:00.000Z'],
      [alice, '2026-03-29T07:00:00.000Z', '2026-03-30T07:00:00.000Z'],
      [bob, '2026-03-30T07:00:00.000Z', '2026-03-31T07:00:00.000Z'],
      [alice, '2026-03-31T07:00:00.000Z', '2026-03-31T12:00:00.000Z'],
    ]);
    expect(hours(shifts[1]!)).toBe(23);
    expect(hours(shifts[2]!)).toBe(24);
    // One minute before and at the handoff.
    expect(onCallAt(s, t('2026-03-29T06:59:00Z')).user).toBe(bob);
    expect(onCallAt(s, t('2026-03-29T07:00:00Z')).user).toBe(alice);
  });

  it('a turn across the autumn change is 25 hours; a handoff at a time that happens twice takes the first one', () => {
    const s = { layers: [layer({ timeZone: 'Europe/Berlin', handoffTime: '02:30', start: '2026-10-20' })], overrides: [] };
    // 2026-10-25 03:00 CEST → 02:00 CET: 02:30 local happens at 00:30Z and again at 01:30Z.
    expect(turnStart(s.layers[0]!, 5)).toBe(t('2026-10-25T00:30:00Z'));
    expect(turnStart(s.layers[0]!, 6)).toBe(t('2026-10-26T01:30:00Z'));
    const [turn] = shiftsBetween(s, t('2026-10-25T00:30:00Z'), t('2026-10-26T01:30:00Z'));
    expect(hours(turn!)).toBe(25);
  });

  it('a handoff time skipped by the spring change happens right after the gap', () => {
    const l = layer({ timeZone: 'Europe/Berlin', handoffTime: '02:30', start: '2026-03-29' });
    // 02:30 does not exist on 2026-03-29 in Berlin; 03:30 CEST = 01:30Z.
    expect(turnStart(l, 0)).toBe(t('2026-03-29T01:30:00Z'));
    expect(turnStart(l, 1)).toBe(t('2026-03-30T00:30:00Z'));
  });

  it('a weekly handoff at midnight in New York happens at local midnight, 05:00Z in winter and 04:00Z in summer', () => {
    const s = { layers: [layer({ rotation: 'weekly', handoffTime: '00:00', timeZone: 'America/New_York', start: '2026-03-02', users: [alice, bob, carol] })], overrides: [] };
    // DST starts in New York on 2026-03-08.
    expect(turnStart(s.layers[0]!, 0)).toBe(t('2026-03-02T05:00:00Z'));
    expect(turnStart(s.layers[0]!, 1)).toBe(t('2026-03-09T04:00:00Z'));
    expect(onCallAt(s, t('2026-03-09T03:59:59Z')).user).toBe(alice);
    expect(onCallAt(s, t('2026-03-09T04:00:00Z')).user).toBe(bob);
    expect(onCallAt(s, t('2026-03-16T04:00:00Z')).user).toBe(carol);
    expect(onCallAt(s, t('2026-03-23T04:00:00Z')).user).toBe(alice);
    // Before the rotation starts nobody is on call.
    expect(onCallAt(s, t('2026-03-02T04:59:59Z'))).toEqual({ user: null, layer: null });
  });

  it('a custom 3-day rotation with a midnight handoff in Tokyo', () => {
    const l = layer({ rotation: 'custom', lengthDays: 3, handoffTime: '00:00', timeZone: 'Asia/Tokyo', start: '2026-01-01', users: [alice, bob] });
    expect(turnStart(l, 1)).toBe(t('2026-01-03T15:00:00Z'));
    expect(onCallAt({ layers: [l], overrides: [] }, t('2026-01-03T14:59:00Z')).user).toBe(alice);
    expect(onCallAt({ layers: [l], overrides: [] }, t('2026-01-03T15:00:00Z')).user).toBe(bob);
  });

  it('a higher layer wins on its weekdays; an override wins over every layer for its window', () => {
    const weekend = layer({ name: 'weekend', users: [carol], weekdays: [6, 7], timeZone: 'Europe/Berlin', handoffTime: '00:00' });
    const s = { layers: [layer({ timeZone: 'Europe/Berlin' }), weekend], overrides: [{ user: dave, from: '2026-03-06T10:00:00Z', to: '2026-03-06T12:00:00Z' }] };
    // Friday 2026-03-06: primary; Saturday from local midnight (23:00Z Friday): the weekend layer.
    expect(onCallAt(s, t('2026-03-06T09:00:00Z'))).toEqual({ user: expect.any(String), layer: 'primary' });
    expect(onCallAt(s, t('2026-03-06T11:00:00Z'))).toEqual({ user: dave, layer: null });
    expect(onCallAt(s, t('2026-03-06T23:00:00Z'))).toEqual({ user: carol, layer: 'weekend' });
    expect(onCallAt(s, t('2026-03-08T22:59:00Z'))).toEqual({ user: carol, layer: 'weekend' });
    expect(onCallAt(s, t('2026-03-08T23:00:00Z')).layer).toBe('primary');
    const shifts = shiftsBetween(s, t('2026-03-06T09:00:00Z'), t('2026-03-07T09:00:00Z'));
    expect(shifts.map((x) => [x.layer, x.from])).toEqual([
      ['primary', '2026-03-06T09:00:00.000Z'],
      [null, '2026-03-06T10:00:00.000Z'],
      ['primary', '2026-03-06T12:00:00.000Z'],
      ['weekend', '2026-03-06T23:00:00.000Z'],
    ]);
  });
});
