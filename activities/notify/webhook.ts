import { createHmac } from 'node:crypto';

/** `v1=<hex HMAC-SHA256("<timestamp>.<body>")>`: what a receiver recomputes with the shared secret. */
export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** POSTs the event, signed; any answer but 2xx is a failed attempt (retried by Temporal). */
export async function sendWebhook(url: string, secret: string, event: Record<string, unknown>, deliveryId: string): Promise<string> {
  const body = JSON.stringify(event);
  const timestamp = String(Math.floor(Date.now() / 1000));
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-opssight-delivery': deliveryId, 'x-opssight-timestamp': timestamp, 'x-opssight-signature': webhookSignature(secret, timestamp, body) },
    body,
    signal: AbortSignal.timeout(15_000),
  });
  await res.arrayBuffer().catch(() => undefined);
  if (!res.ok) throw new Error(`webhook answered HTTP ${res.status}`);
  return res.headers.get('x-request-id') ?? deliveryId;
}
