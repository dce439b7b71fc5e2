import { useEffect, useState } from 'preact/hooks';
import type { AlertDetail } from '../../../../contracts/alerts/index.ts';
import { get } from '../../client/http.ts';
import { useMe } from '../../client/me.ts';
import { live } from '../../client/socket.ts';
import { formatTime } from '../../format.ts';
import { Link } from '../../router.tsx';
import { AlertActions, AlertStatusBadge, SeverityBadge } from './AlertActions.tsx';

/**
 * One alert: its facts, its timeline (every escalation step, wait and decision) and every delivery
 * attempt. Any announcement about it on the `alerts` topic re-reads it, so steps and attempts the
 * worker records appear as they happen, in the order the server keeps them.
 */
export function AlertPage({ id }: { id: string }) {
  const me = useMe();
  const [alert, setAlert] = useState<AlertDetail | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let current = true;
    let reading = false;
    let again = false;
    const load = () => {
      // One read at a time; announcements during it cause one more read after it.
      if (reading) return void (again = true);
      reading = true;
      get<AlertDetail>(`/api/v1/alerts/${id}`)
        .then((a) => current && setAlert(a), (err: unknown) => current && setError((err as Error).message))
        .finally(() => {
          reading = false;
          if (again && current) {
            again = false;
            load();
          }
        });
    };
    const stop = live.watchAlerts((change) => change.alert.id === id && load());
    load();
    return () => {
      current = false;
      stop();
    };
  }, [id]);

  if (error && !alert)
    return (
      <section>
        <h1>Alert</h1>
        <p class="error" role="alert">
          {error}
        </p>
      </section>
    );
  if (!alert) return <p aria-busy="true">Loading…</p>;
  return (
    <section aria-labelledby="alert-title">
      <p class="crumbs">
        <Link href="/alerts">Alerts</Link>
      </p>
      <div class="page-head">
        <h1 id="alert-title">{alert.summary}</h1>
        <AlertActions me={me} alert={alert} onError={setError} />
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <dl class="facts card">
        <dt>Status</dt>
        <dd>
          <AlertStatusBadge status={alert.status} />
        </dd>
        <dt>Severity</dt>
        <dd>
          <SeverityBadge severity={alert.severity} />
        </dd>
        <dt>Team</dt>
        <dd>{alert.team}</dd>
        <dt>Source</dt>
        <dd>{alert.source?.name ?? '–'}</dd>
        <dt>Dedup key</dt>
        <dd>
          <code>{alert.dedupKey}</code>
        </dd>
        <dt>Seen</dt>
        <dd data-testid="alert-count">{alert.count}×</dd>
        <dt>First / last seen</dt>
        <dd>
          {formatTime(alert.firstSeenAt)} / {formatTime(alert.lastSeenAt)}
        </dd>
        <dt>Policy</dt>
        <dd>{alert.policy ? `version ${alert.policy.version}` : 'none: nobody is paged'}</dd>
        <dt>Acknowledged</dt>
        <dd>{alert.acknowledgedAt ? `${formatTime(alert.acknowledgedAt)} by ${alert.acknowledgedBy}` : '–'}</dd>
        <dt>Resolved</dt>
        <dd>{alert.resolvedAt ? `${formatTime(alert.resolvedAt)} by ${alert.resolvedBy}` : '–'}</dd>
      </dl>

      <h2>Timeline</h2>
      <ol class="card alert-timeline" data-testid="alert-timeline">
        {alert.timeline.map((e, n) => (
          <li key={n} data-type={e.type}>
            <time dateTime={e.at}>{formatTime(e.at)}</time> <strong>{e.type}</strong> {e.message}
          </li>
        ))}
      </ol>

      <h2>Notification attempts</h2>
      <div class="table-wrap card">
        <table data-testid="alert-attempts">
          <thead>
            <tr>
              <th scope="col">At</th>
              <th scope="col">Notification</th>
              <th scope="col">Channel</th>
              <th scope="col">Target</th>
              <th scope="col">Attempt</th>
              <th scope="col">Status</th>
              <th scope="col">Provider id</th>
              <th scope="col">Error</th>
              <th scope="col">Latency</th>
            </tr>
          </thead>
          <tbody>
            {alert.notifications.length === 0 && (
              <tr>
                <td colSpan={9} class="muted">
                  No notification attempts.
                </td>
              </tr>
            )}
            {alert.notifications.map((n) => (
              <tr key={`${n.key}-${n.attempt}-${n.at}`} data-status={n.status}>
                <td data-label="At">{formatTime(n.at)}</td>
                <td data-label="Notification">
                  <code>{n.key}</code>
                </td>
                <td data-label="Channel">{n.channel}</td>
                <td data-label="Target">{n.target}</td>
                <td data-label="Attempt">{n.attempt}</td>
                <td data-label="Status">{n.status}</td>
                <td data-label="Provider id">
                  <code>{n.providerId ?? '–'}</code>
                </td>
                <td data-label="Error" class={n.error ? 'error' : undefined}>
                  {n.error ?? '–'}
                </td>
                <td data-label="Latency">{n.latencyMs} ms</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
