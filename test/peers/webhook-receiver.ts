import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Delivery = { at: number; body: Record<string, unknown>; id: string; status: number };

/**
 * A receiver of OpsSight's signed webhooks, checking them as documented (docs/alerts.md): the HMAC of
 * "<timestamp>.<body>" under the shared secret, and a timestamp within 5 minutes. Answers 503 to the
 * next `failNext` deliveries when asked to; `beforeAnswer` lets a test act between receipt and answer.
 */
export async function startWebhookReceiver(secret: string) {
  const deliveries: Delivery[] = [];
  /** `beforeAnswer`, when set, runs (and is awaited) with each signed delivery before it is answered. */
  const control: { failNext: number; forged: number; beforeAnswer?: (delivery: Delivery) => void | Promise<void> } = { failNext: 0, forged: 0 };
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString('utf8')));
    req.on('end', async () => {
      const ts = String(req.headers['x-opssight-timestamp'] ?? '');
      const given = Buffer.from(String(req.headers['x-opssight-signature'] ?? ''));
      const expected = Buffer.from(`v1=${createHmac('sha256', secret).update(`${ts}.${raw}`).digest('hex')}`);
      if (given.length !== expected.length || !timingSafeEqual(given, expected) || Math.abs(Date.now() / 1000 - Number(ts)) > 300) {
        control.forged++;
        res.writeHead(401).end();
        return;
      }
      const status = control.failNext > 0 ? 503 : 200;
      if (status !== 200) control.failNext--;
      const delivery: Delivery = { at: Date.now(), body: JSON.parse(raw) as Record<string, unknown>, id: String(req.headers['x-opssight-delivery']), status };
      deliveries.push(delivery);
      await control.beforeAnswer?.(delivery);
      res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hook`, deliveries, control, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}
