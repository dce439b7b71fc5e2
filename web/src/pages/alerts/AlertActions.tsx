import { useState } from 'preact/hooks';
import type { AlertView } from '../../../../contracts/alerts/index.ts';
import { post } from '../../client/http.ts';
import { may, type Me } from '../../client/me.ts';

/**
 * Acknowledge / Resolve for one alert, shown only to those whose role has `alerts:ack` in its team
 * (the API checks again). The row updates from the `alerts` topic, so nothing is reloaded here.
 */
export function AlertActions({ me, alert, onError }: { me: Me | null; alert: AlertView; onError: (message: string) => void }) {
  const [busy, setBusy] = useState(false);
  if (!may(me, alert.team, 'alerts:ack') || alert.status === 'resolved') return null;
  const act = async (action: 'ack' | 'resolve') => {
    setBusy(true);
    try {
      await post(`/api/v1/alerts/${alert.id}/${action}`);
    } catch (err) {
      onError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <span class="actions">
      {alert.status === 'firing' && (
        <button type="button" class="small" disabled={busy} onClick={() => void act('ack')} aria-label={`Acknowledge ${alert.summary}`}>
          Acknowledge
        </button>
      )}
      <button type="button" class="secondary small" disabled={busy} onClick={() => void act('resolve')} aria-label={`Resolve ${alert.summary}`}>
        Resolve
      </button>
    </span>
  );
}

export function SeverityBadge({ severity }: { severity: AlertView['severity'] }) {
  return <span class={`badge badge-sev-${severity}`}>{severity}</span>;
}

export function AlertStatusBadge({ status }: { status: AlertView['status'] }) {
  return (
    <span class={`badge badge-alert-${status}`} data-testid="alert-status">
      {status}
    </span>
  );
}
