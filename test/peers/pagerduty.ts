import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type PagerDutyEvent = { at: number; routing_key: string; event_action: string; dedup_key?: string; payload?: { summary: string; source: string; severity: string } };

/**
 * PagerDuty's Events API v2 (`POST /v2/enqueue`, as documented at developer.pagerduty.com): a routing
 * key it does not know is a 400 `Invalid routing key`; a trigger needs payload.summary, source and one
 * of the four severities (else 400); accepted events are a 202 with the dedup key. 429 on demand.
 */
export async function startPagerDutyPeer(routingKeys: string[]) {
  const events: PagerDutyEvent[] = [];
  const control = { rateLimitNext: 0 };
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString('utf8')));
    req.on('end', () => {
      const reply = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (req.method !== 'POST' || req.url !== '/v2/enqueue') return reply(404, { status: 'not found' });
      if (control.rateLimitNext > 0) {
        control.rateLimitNext--;
        return reply(429, { status: 'throttle event', message: 'Requests for this service are arriving too quickly' });
      }
      let e: PagerDutyEvent;
      try {
        e = JSON.parse(raw) as PagerDutyEvent;
      } catch {
        return reply(400, { status: 'invalid event', message: 'Event object is invalid', errors: ['Malformed JSON'] });
      }
      if (!routingKeys.includes(e.routing_key)) return reply(400, { status: 'invalid event', message: 'Event object is invalid', errors: ['Invalid routing key'] });
      if (e.event_action === 'trigger' && (!e.payload?.summary || !e.payload.source || !['critical', 'error', 'warning', 'info'].includes(e.payload.severity))) {
        return reply(400, { status: 'invalid event', message: 'Event object is invalid', errors: ['payload is missing summary, source or a valid severity'] });
      }
      if ((e.event_action === 'acknowledge' || e.event_action === 'resolve') && !e.dedup_key) {
        return reply(400, { status: 'invalid event', message: 'Event object is invalid', errors: ['dedup_key is required for acknowledge and resolve'] });
      }
      if (!['trigger', 'acknowledge', 'resolve'].includes(e.event_action)) {
        return reply(400, { status: 'invalid event', message: 'Event object is invalid', errors: ['event_action must be trigger, acknowledge or resolve'] });
      }
      const dedup = e.dedup_key ?? crypto.randomUUID();
      events.push({ ...e, dedup_key: dedup, at: Date.now() });
      reply(202, { status: 'success', message: 'Event processed', dedup_key: dedup });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, events, control, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}
