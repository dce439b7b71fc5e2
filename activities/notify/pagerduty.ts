import type { PagerDutySettings } from '../../contracts/integrations/pagerduty.ts';

const SEVERITY: Record<string, string> = { critical: 'critical', error: 'error', warning: 'warning', info: 'info' };

type PagerDutyAlert = { id: string; summary: string; severity: string; dedupKey: string };

/**
 * One Events API v2 event (POST /v2/enqueue) with the alert id as dedup_key, so every notification of
 * one alert lands on one PagerDuty incident and OpsSight's acknowledge and resolve reach that incident.
 * PagerDuty answers 202 with the dedup key.
 */
export async function sendPagerDutyEvent(settings: PagerDutySettings, routingKey: string, action: 'trigger' | 'acknowledge' | 'resolve', alert: PagerDutyAlert): Promise<string> {
  const res = await fetch(`${settings.apiUrl.replace(/\/$/, '')}/v2/enqueue`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      routing_key: routingKey,
      event_action: action,
      dedup_key: alert.id,
      // Only a trigger carries a payload; acknowledge and resolve name the incident by dedup_key alone.
      ...(action === 'trigger'
        ? { payload: { summary: alert.summary.slice(0, 1024), source: 'opssight', severity: SEVERITY[alert.severity] ?? 'error', custom_details: { dedupKey: alert.dedupKey } } }
        : {}),
    }),
    signal: AbortSignal.timeout(15_000),
  });
  const body = (await res.json().catch(() => ({}))) as { status?: string; message?: string; dedup_key?: string; errors?: string[] };
  if (res.status !== 202) throw new Error(`PagerDuty answered HTTP ${res.status}: ${body.message ?? ''} ${(body.errors ?? []).join('; ')}`.trim());
  return body.dedup_key ?? alert.id;
}
