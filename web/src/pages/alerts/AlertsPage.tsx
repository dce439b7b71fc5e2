import { useEffect, useState } from 'preact/hooks';
import type { AlertChangeKind, AlertStatus, AlertView } from '../../../../contracts/alerts/index.ts';
import { get, query } from '../../client/http.ts';
import { useMe } from '../../client/me.ts';
import { live } from '../../client/socket.ts';
import { TeamSelect, usePageTeam } from '../../components/TeamSelect.tsx';
import { formatTime } from '../../format.ts';
import { Link } from '../../router.tsx';
import { AlertActions, AlertStatusBadge, SeverityBadge } from './AlertActions.tsx';

const TABS: { status: AlertStatus; label: string }[] = [
  { status: 'firing', label: 'Open' },
  { status: 'acknowledged', label: 'Acknowledged' },
  { status: 'resolved', label: 'Resolved' },
];
/**
 * The changes that move an alert between tabs or change its row. `timeline` and `notification`
 * announcements carry the alert as the worker read it, which may predate an acknowledgement that
 * the API announced already: the list leaves them to the alert's own page.
 */
const ROW_CHANGES = new Set<AlertChangeKind>(['opened', 'repeated', 'acknowledged', 'resolved', 'reopened']);
const newestFirst = (a: AlertView, b: AlertView) => b.firstSeenAt.localeCompare(a.firstSeenAt) || b.id.localeCompare(a.id);

/**
 * A team's alerts by status. The list is read once per tab and then kept current by the `alerts`
 * topic: every announcement carries the alert as it now is, so it is put in (or taken out of) the
 * tab its status belongs to — a new alert appears, an acknowledged one moves, without a reload.
 */
export function AlertsPage() {
  const me = useMe();
  const [team, setTeam] = usePageTeam(me);
  const [tab, setTab] = useState<AlertStatus>('firing');
  const [items, setItems] = useState<AlertView[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!team) return;
    let current = true;
    setItems(null);
    // Join the topic before reading, so a change between the read and the join is not lost;
    // changes that arrive before the read answers are applied to it when it does.
    const early: AlertView[] = [];
    let loaded: AlertView[] | null = null;
    const apply = (list: AlertView[], a: AlertView) => [...list.filter((x) => x.id !== a.id), ...(a.status === tab ? [a] : [])].sort(newestFirst);
    const stop = live.watchAlerts(({ change, alert }) => {
      if (!current || alert.team !== team || !ROW_CHANGES.has(change)) return;
      if (!loaded) return void early.push(alert);
      loaded = apply(loaded, alert);
      setItems(loaded);
    });
    get<{ alerts: AlertView[] }>(`/api/v1/alerts${query({ team, status: tab, limit: 100 })}`).then(
      (r) => {
        if (!current) return;
        loaded = early.reduce(apply, r.alerts);
        setItems(loaded);
      },
      (err: unknown) => current && setError((err as Error).message),
    );
    return () => {
      current = false;
      stop();
    };
  }, [team, tab]);

  return (
    <section aria-labelledby="alerts-title">
      <div class="page-head">
        <h1 id="alerts-title">Alerts</h1>
        <TeamSelect me={me} team={team} onChange={setTeam} label="Team of the alerts" testId="alerts-team" />
        <Link href="/alerts/policies" class="button secondary">
          Escalation policies
        </Link>
        <Link href="/oncall" class="button secondary">
          On-call calendar
        </Link>
      </div>
      <div class="files-tabs" role="tablist" aria-label="Alert status">
        {TABS.map((t) => (
          <button type="button" role="tab" key={t.status} aria-selected={tab === t.status} onClick={() => setTab(t.status)}>
            {t.label}
          </button>
        ))}
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div class="table-wrap card">
        <table>
          <thead>
            <tr>
              <th scope="col">Severity</th>
              <th scope="col">Summary</th>
              <th scope="col">Status</th>
              <th scope="col">Seen</th>
              <th scope="col">First seen</th>
              <th scope="col">Decided by</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {items === null && (
              <tr>
                <td colSpan={7} aria-busy="true">
                  Loading…
                </td>
              </tr>
            )}
            {items?.length === 0 && (
              <tr>
                <td colSpan={7} class="muted">
                  No {TABS.find((t) => t.status === tab)!.label.toLowerCase()} alerts.
                </td>
              </tr>
            )}
            {items?.map((a) => (
              <tr key={a.id} data-alert={a.dedupKey}>
                <td data-label="Severity">
                  <SeverityBadge severity={a.severity} />
                </td>
                <td data-label="Summary">
                  <Link href={`/alerts/${a.id}`}>{a.summary}</Link>
                  <div class="muted small">{a.source?.name ?? 'no source'}</div>
                </td>
                <td data-label="Status">
                  <AlertStatusBadge status={a.status} />
                </td>
                <td data-label="Seen" data-testid="alert-count">
                  {a.count}×
                </td>
                <td data-label="First seen">{formatTime(a.firstSeenAt)}</td>
                <td data-label="Decided by">{a.resolvedBy ?? a.acknowledgedBy ?? '–'}</td>
                <td data-label="Actions">
                  <AlertActions me={me} alert={a} onError={setError} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
