import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { importSPKI, jwtVerify } from 'jose';

export type FcmMessage = { at: number; project: string; token: string; title: string; body: string; data: Record<string, string> };

/**
 * Google's OAuth token endpoint and FCM's HTTP v1 send, as documented: `POST /token` takes the JWT
 * bearer grant (an RS256 JWT from the service account: iss, aud = this endpoint, scope, exp) and answers
 * an access token, or 400 `invalid_grant`; `POST /v1/projects/{id}/messages:send` wants that token
 * (401 UNAUTHENTICATED otherwise) and answers `{name}`, or 404 UNREGISTERED for a device it does not know.
 */
export async function startFcmPeer(account: { clientEmail: string; publicKeyPem: string; projectId: string; devices: string[] }) {
  const publicKey = await importSPKI(account.publicKeyPem, 'RS256');
  const issued = new Set<string>();
  const messages: FcmMessage[] = [];
  const counts = { tokenExchanges: 0 };
  let url = '';
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString('utf8')));
    req.on('end', () => {
      void (async () => {
        const reply = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
        if (req.method === 'POST' && req.url === '/token') {
          counts.tokenExchanges++;
          const form = new URLSearchParams(raw);
          if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') return reply(400, { error: 'unsupported_grant_type' });
          try {
            const { payload } = await jwtVerify(form.get('assertion') ?? '', publicKey, { issuer: account.clientEmail, audience: `${url}/token`, algorithms: ['RS256'] });
            if (payload.scope !== 'https://www.googleapis.com/auth/firebase.messaging') return reply(400, { error: 'invalid_scope' });
          } catch {
            return reply(400, { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' });
          }
          const token = `ya29.${crypto.randomUUID()}`;
          issued.add(token);
          return reply(200, { access_token: token, expires_in: 3599, token_type: 'Bearer' });
        }
        const send = /^\/v1\/projects\/([^/]+)\/messages:send$/.exec(req.url ?? '');
        if (req.method !== 'POST' || !send) return reply(404, { error: { code: 404, message: 'Not Found', status: 'NOT_FOUND' } });
        const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
        if (!bearer || !issued.has(bearer)) return reply(401, { error: { code: 401, message: 'Request had invalid authentication credentials.', status: 'UNAUTHENTICATED' } });
        if (send[1] !== account.projectId) return reply(403, { error: { code: 403, message: 'Permission denied on the project.', status: 'PERMISSION_DENIED' } });
        const { message } = JSON.parse(raw) as { message: { token: string; notification: { title: string; body: string }; data: Record<string, string> } };
        if (!account.devices.includes(message.token)) {
          return reply(404, { error: { code: 404, message: 'Requested entity was not found.', status: 'NOT_FOUND', details: [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: 'UNREGISTERED' }] } });
        }
        messages.push({ at: Date.now(), project: send[1]!, token: message.token, title: message.notification.title, body: message.notification.body, data: message.data });
        reply(200, { name: `projects/${send[1]}/messages/0:${Date.now()}%${crypto.randomUUID().slice(0, 8)}` });
      })();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, messages, counts, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}
