import { useEffect, useState } from 'preact/hooks';
import type { ScheduleView } from '../../../contracts/schedules.ts';
import { del, get, post, query } from '../client/http.ts';
import { may, useMe } from '../client/me.ts';
import { formatTime } from '../format.ts';
import { TeamSelect, usePageTeam } from '../components/TeamSelect.tsx';
import { Link } from '../router.tsx';

/** How a schedule fires, in words. */
export function describeSpec(spec: ScheduleView['spec']): string {
  const when = spec.cron ? spec.cron.join(', ') : `every ${spec.everySeconds! >= 60 && spec.everySeconds! % 60 === 0 ? `${spec.everySeconds! / 60} min` : `${spec.everySeconds} s`}`;
  return `${when} (${spec.timezone}${spec.jitterSeconds ? `, jitter ${spec.jitterSeconds}s` : ''})`;
}

function LastFire({ s }: { s: ScheduleView }) {
  if (!s.lastFire) return <span class="muted">never fired</span>;
  if (s.lastFire.runId) return <Link href={`/runs/${s.lastFire.runId}`}>{formatTime(s.lastFire.at)}</Link>;
  return (
    <span class="skipped" title={s.lastFire.skipped ?? ''}>
      {formatTime(s.lastFire.at)}: skipped — {s.lastFire.skipped}
    </span>
  );
}

/**
 * A team's schedules: when each fires next, what its latest fire did (the run, or why none started),
 * and pause / resume / run now / delete for those who may start its kind. New schedules are made from
 * the start form ("Repeat on a schedule"), so their params get the same generated form as a run.
 */
export function SchedulesPage() {
  const me = useMe();
  const [team, setTeam] = usePageTeam(me);
  const [items, setItems] = useState<ScheduleView[] | null>(null);
  const [notice, setNotice] = useState<{ text: string; error?: boolean } | null>(null);

  const load = () => get<{ schedules: ScheduleView[] }>(`/api/v1/schedules${query({ team })}`).then((r) => setItems(r.schedules), () => setItems([]));
  // Fires happen on the server's clock: refresh while the page is open, so "latest fire" and "next" stay true.
  useEffect(() => {
    if (!team) return;
    void load();
    const timer = setInterval(() => void load(), 5_000);
    return () => clearInterval(timer);
  }, [team]);

  if (!me) return <p aria-busy="true">Loading…</p>;
  const act = async (s: ScheduleView, what: string, call: () => Promise<unknown>) => {
    try {
      await call();
      setNotice({ text: `${s.name}: ${what}.` });
      void load();
    } catch (err) {
      setNotice({ text: (err as Error).message, error: true });
    }
  };
  const remove = (s: ScheduleView) => {
    if (confirm(`Delete the schedule ${s.name}? Runs it started stay.`)) void act(s, 'deleted', () => del(`/api/v1/schedules/${s.id}`));
  };

  return (
    <section aria-labelledby="schedules-title">
      <div class="page-head">
        <h1 id="schedules-title">Schedules</h1>
        <TeamSelect me={me} team={team} onChange={setTeam} label="Team of the schedules" testId="schedules-team" />
        <Link href="/runs/new?schedule=1" class="button">
          New schedule
        </Link>
      </div>
      {notice && (
        <p class={notice.error ? 'error' : 'notice'} role={notice.error ? 'alert' : 'status'}>
          {notice.text}
        </p>
      )}
      <div class="table-wrap card">
        <table data-testid="schedules">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Kind</th>
              <th scope="col">When</th>
              <th scope="col">Next</th>
              <th scope="col">Latest fire</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {items?.length === 0 && (
              <tr>
                <td colSpan={6} class="muted">
                  No schedules in this team yet.
                </td>
              </tr>
            )}
            {items?.map((s) => {
              const manage = may(me, s.team, `runs:start:${s.kind}`);
              return (
                <tr key={s.id} data-schedule={s.name}>
                  <th scope="row">
                    {s.name}
                    {s.paused && <span class="badge badge-cancelled">paused{s.note ? `: ${s.note}` : ''}</span>}
                  </th>
                  <td>{s.kind}</td>
                  <td>{describeSpec(s.spec)}</td>
                  <td>{s.nextFireTimes[0] ? formatTime(s.nextFireTimes[0]) : '—'}</td>
                  <td>
                    <LastFire s={s} />
                  </td>
                  <td class="actions">
                    {manage && (
                      <>
                        <button type="button" class="secondary" onClick={() => void act(s, 'fired', () => post(`/api/v1/schedules/${s.id}/trigger`))}>
                          Run now
                        </button>
                        {s.paused ? (
                          <button type="button" class="secondary" onClick={() => void act(s, 'resumed', () => post(`/api/v1/schedules/${s.id}/unpause`))}>
                            Resume
                          </button>
                        ) : (
                          <button type="button" class="secondary" onClick={() => void act(s, 'paused', () => post(`/api/v1/schedules/${s.id}/pause`, { note: prompt('Why pause it? (optional)') ?? undefined }))}>
                            Pause
                          </button>
                        )}
                        <button type="button" class="secondary danger" onClick={() => remove(s)}>
                          Delete
                        </button>
                      </>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </section>
  );
}
