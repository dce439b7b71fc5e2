import type { PagerDutySettings } from '../../contracts/integrations/pagerduty.ts';

const SEVERITY: Record<string, string> = { critical: 'critical', error: 'error', warning: 'warning', info: 'info' };

/**
 * Sends a `trigger` event (Events API v2, POST /v2/enqueue) with the alert id as dedup_key, so every
 * notification of one alert lands on one PagerDuty incident. PagerDuty answers 202 with the dedup key.
 */
export async function triggerPagerDuty(settings: PagerDutySettings, routingKey: string, alert: { id: string; summary: string; severity: string; dedupKey: string }): Promise<string> {
  const res = await fetch(`${settings.apiUrl.replace(/\/$/, '')}/v2/enqueue`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      routing_key: routingKey,
      event_action: 'trigger',
      dedup_key: alert.id,
      payload: { summary: alert.summary.slice(0, 1024), source: 'opssight', severity: SEVERITY[alert.severity] ?? 'error', custom_details: { dedupKey: alert.dedupKey } },
    }),
    signal: AbortSignal.timeout(15_000),
  });
  const body = (await res.json().catch(() => ({}))) as { status?: string; message?: string; dedup_key?: string; errors?: string[] };
  if (res.status !== 202) throw new Error(`PagerDuty answered HTTP ${res.status}: ${body.message ?? ''} ${(body.errors ?? []).join('; ')}`.trim());
  return body.dedup_key ?? alert.id;
}
