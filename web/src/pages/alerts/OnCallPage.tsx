import { useEffect, useState } from 'preact/hooks';
import type { OnCallScheduleView, Shift } from '../../../../contracts/alerts/index.ts';
import { get, query } from '../../client/http.ts';
import { may, useMe } from '../../client/me.ts';
import { TeamSelect, usePageTeam } from '../../components/TeamSelect.tsx';
import { Link } from '../../router.tsx';
import type { Member } from './LayerFields.tsx';
import { NewScheduleForm } from './NewScheduleForm.tsx';
import { ScheduleEditor } from './ScheduleEditor.tsx';

const DAY_MS = 86_400_000;
const startOfLocalDay = (t: number) => new Date(new Date(t).setHours(0, 0, 0, 0)).getTime();
const hhmm = (t: number) => new Date(t).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
const isoDate = (t: number) => {
  const d = new Date(t);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
};

/** The shifts overlapping one local day, clipped to it. */
function dayShifts(shifts: Shift[], day: number) {
  const end = new Date(day).setDate(new Date(day).getDate() + 1);
  return shifts
    .map((s) => ({ ...s, start: Math.max(Date.parse(s.from), day), stop: Math.min(Date.parse(s.to), end) }))
    .filter((s) => s.stop > s.start);
}

/**
 * Who is on call when, day by day across a range (from the shifts API: layers resolved, overrides on
 * top), in the browser's time zone. Overrides are marked as such. Those with alerts:manage create
 * schedules and change their layers and overrides here; the calendar follows each saved change.
 */
export function OnCallPage() {
  const me = useMe();
  const [team, setTeam] = usePageTeam(me);
  const [schedules, setSchedules] = useState<OnCallScheduleView[]>([]);
  const [schedule, setSchedule] = useState('');
  const [from, setFrom] = useState(() => isoDate(Date.now()));
  const [days, setDays] = useState(7);
  const [names, setNames] = useState<Map<string, string>>(new Map());
  const [members, setMembers] = useState<Member[]>([]);
  const [shifts, setShifts] = useState<Shift[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  // Bumped by each saved change, so the calendar asks for the shifts again.
  const [version, setVersion] = useState(0);

  useEffect(() => {
    if (!team) return;
    setNotice(null);
    void get<{ schedules: OnCallScheduleView[] }>(`/api/v1/oncall${query({ team })}`).then((r) => {
      setSchedules(r.schedules);
      setSchedule(r.schedules[0]?.id ?? '');
    });
    void get<{ items: { userId: string; name: string; email: string }[] }>(`/api/v1/teams/${team}/members`).then((r) => {
      setNames(new Map(r.items.map((m) => [m.userId, m.name])));
      setMembers(r.items.map((m) => ({ id: m.userId, label: `${m.name} <${m.email}>` })));
    }, () => undefined);
  }, [team]);

  const manage = may(me, team, 'alerts:manage');
  const current = schedules.find((s) => s.id === schedule);
  const saved = (s: OnCallScheduleView, what: string) => {
    setSchedules((list) => [...list.filter((x) => x.id !== s.id), s].sort((a, b) => a.name.localeCompare(b.name)));
    setSchedule(s.id);
    setVersion((v) => v + 1);
    setNotice(what);
  };

  const start = startOfLocalDay(new Date(`${from}T00:00:00`).getTime());
  useEffect(() => {
    setShifts(null);
    setError(null);
    if (!schedule || !Number.isFinite(start)) return;
    const to = new Date(start).setDate(new Date(start).getDate() + days);
    get<{ shifts: Shift[] }>(`/api/v1/oncall/${schedule}/shifts${query({ from: new Date(start).toISOString(), to: new Date(to).toISOString() })}`).then(
      (r) => setShifts(r.shifts),
      (err: unknown) => setError((err as Error).message),
    );
  }, [schedule, start, days, version]);

  const dayList = Array.from({ length: days }, (_, n) => new Date(start).setDate(new Date(start).getDate() + n));
  return (
    <section aria-labelledby="oncall-title">
      <p class="crumbs">
        <Link href="/alerts">Alerts</Link>
      </p>
      <div class="page-head">
        <h1 id="oncall-title">On-call calendar</h1>
        <TeamSelect me={me} team={team} onChange={setTeam} label="Team of the schedules" testId="oncall-team" />
      </div>
      <div class="filters">
        <label>
          Schedule
          <select value={schedule} onChange={(e) => setSchedule(e.currentTarget.value)}>
            {schedules.map((s) => (
              <option key={s.id} value={s.id}>
                {s.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          From
          <input type="date" value={from} onInput={(e) => e.currentTarget.value && setFrom(e.currentTarget.value)} />
        </label>
        <label>
          Days
          <select value={days} onChange={(e) => setDays(Number(e.currentTarget.value))}>
            {[7, 14, 28].map((d) => (
              <option key={d} value={d}>
                {d}
              </option>
            ))}
          </select>
        </label>
      </div>
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      {schedules.length === 0 && <p class="muted">No on-call schedules in this team yet{manage ? ': create one below.' : '.'}</p>}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {shifts && (
        <div class="table-wrap card">
          <table class="oncall-calendar" data-testid="oncall-calendar">
            <thead>
              <tr>
                <th scope="col">Day</th>
                <th scope="col">Who is on call</th>
              </tr>
            </thead>
            <tbody>
              {dayList.map((day) => (
                <tr key={day} data-day={isoDate(day)}>
                  <th scope="row">{new Date(day).toLocaleDateString(undefined, { weekday: 'short', month: 'short', day: 'numeric' })}</th>
                  <td>
                    <ul class="shifts">
                      {dayShifts(shifts, day).map((s) => (
                        <li key={`${s.from}-${s.layer}`} class={s.layer === null ? 'override' : undefined} data-user={s.user ?? ''}>
                          {hhmm(s.start)}–{s.stop - s.start >= DAY_MS ? '24:00' : hhmm(s.stop)} <strong>{s.user ? (names.get(s.user) ?? s.user) : 'nobody'}</strong>{' '}
                          <span class="muted">{s.layer === null ? 'override' : s.layer}</span>
                        </li>
                      ))}
                    </ul>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {manage && current && <ScheduleEditor key={current.id} schedule={current} members={members} onSaved={saved} />}
      {manage && team && <NewScheduleForm key={team} team={team} members={members} onCreated={(s) => saved(s, `Created ${s.name}.`)} />}
    </section>
  );
}
