import { createPublicKey } from 'node:crypto';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { selfSignedCert } from './tls.ts';

export type ApnsPush = { id: string; at: number; device: string; topic: string; pushType: string; payload: { aps?: { alert?: { title?: string; body?: string } }; alertId?: string } };
type App = { teamId: string; keyId: string; publicKeyPem: string; topic: string; devices: string[] };

/**
 * APNs' provider API over HTTP/2 with TLS (`POST /3/device/<token>`), as Apple documents it: a bearer
 * JWT (ES256, `kid` the key id, `iss` the team id, issued within the hour) else 403
 * InvalidProviderToken / ExpiredProviderToken; `apns-topic` must be the app's (400
 * DeviceTokenNotForTopic); an unknown device is 410 Unregistered; accepted pushes are a 200 echoing
 * `apns-id`. On demand: 500 InternalServerError, 429 TooManyRequests, or no answer (`hangNext`).
 */
export async function startApnsPeer(app: App) {
  const pushes: ApnsPush[] = [];
  const control = { failNext: 0, rateLimitNext: 0, hangNext: 0 };
  const { key, cert } = selfSignedCert();
  const publicKey = createPublicKey(app.publicKeyPem);
  const server = http2.createSecureServer({ key, cert, allowHTTP1: false });
  server.on('stream', (stream, headers) => {
    let raw = '';
    stream.on('data', (d: Buffer) => (raw += d.toString('utf8')));
    stream.on('end', () => {
      void (async () => {
        const id = String(headers['apns-id'] ?? crypto.randomUUID());
        const reply = (status: number, reason?: string) => {
          if (stream.destroyed) return;
          stream.respond({ ':status': status, 'apns-id': id, ...(reason ? { 'content-type': 'application/json' } : {}) });
          stream.end(reason ? JSON.stringify({ reason, ...(status === 410 ? { timestamp: Date.now() } : {}) }) : undefined);
        };
        const device = /^\/3\/device\/([0-9a-f]+)$/.exec(String(headers[':path']))?.[1];
        if (headers[':method'] !== 'POST' || !device) return reply(404, 'BadPath');
        const jwt = String(headers.authorization ?? '').replace(/^bearer /, '');
        try {
          if (decodeProtectedHeader(jwt).kid !== app.keyId) return reply(403, 'InvalidProviderToken');
          await jwtVerify(jwt, publicKey, { algorithms: ['ES256'], issuer: app.teamId, maxTokenAge: '1h' });
        } catch {
          return reply(403, 'InvalidProviderToken');
        }
        if (control.hangNext > 0) {
          control.hangNext--;
          return;
        }
        if (control.rateLimitNext > 0) {
          control.rateLimitNext--;
          return reply(429, 'TooManyRequests');
        }
        if (control.failNext > 0) {
          control.failNext--;
          return reply(500, 'InternalServerError');
        }
        if (!headers['apns-topic']) return reply(400, 'MissingTopic');
        if (headers['apns-topic'] !== app.topic) return reply(400, 'DeviceTokenNotForTopic');
        if (!app.devices.includes(device)) return reply(410, 'Unregistered');
        let payload: ApnsPush['payload'];
        try {
          payload = JSON.parse(raw) as ApnsPush['payload'];
        } catch {
          return reply(400, 'PayloadEmpty');
        }
        pushes.push({ id, at: Date.now(), device, topic: String(headers['apns-topic']), pushType: String(headers['apns-push-type'] ?? ''), payload });
        reply(200);
      })();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    caPem: cert,
    pushes,
    control,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
