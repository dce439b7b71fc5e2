import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type SlackPost = { at: number; channel: string; text: string; blocks: unknown[]; ts: string };

/**
 * Slack's Web API as far as OpsSight uses it (`chat.postMessage`, as documented at
 * api.slack.com/methods/chat.postMessage): the bot token must be the app's (else `invalid_auth`), the
 * channel must exist (else `channel_not_found`); form-encoded or JSON bodies, like Slack. On demand it
 * answers 429 with Retry-After or 500. It also plays Slack's side of interactivity: `click` signs a
 * block_actions payload with the app's signing secret, the way Slack does, and posts it.
 */
export async function startSlackPeer(app: { botToken: string; signingSecret: string; channels: string[] }) {
  const posts: SlackPost[] = [];
  const control = { failNext: 0, rateLimitNext: 0 };
  let seq = 0;
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString('utf8')));
    req.on('end', () => {
      const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
      if (req.url !== '/api/chat.postMessage' || req.method !== 'POST') return reply(404, { ok: false, error: 'unknown_method' });
      if (control.rateLimitNext > 0) {
        control.rateLimitNext--;
        return reply(429, { ok: false, error: 'ratelimited' }, { 'retry-after': '1' });
      }
      if (control.failNext > 0) {
        control.failNext--;
        return reply(500, { ok: false, error: 'internal_error' });
      }
      if (req.headers.authorization !== `Bearer ${app.botToken}`) return reply(200, { ok: false, error: 'invalid_auth' });
      const form = String(req.headers['content-type']).startsWith('application/json') ? (JSON.parse(raw) as Record<string, unknown>) : Object.fromEntries(new URLSearchParams(raw));
      const channel = String(form.channel ?? '');
      if (!app.channels.includes(channel)) return reply(200, { ok: false, error: 'channel_not_found' });
      const blocks = typeof form.blocks === 'string' ? (JSON.parse(form.blocks) as unknown[]) : ((form.blocks as unknown[]) ?? []);
      const ts = `${Math.floor(Date.now() / 1000)}.${String(++seq).padStart(6, '0')}`;
      posts.push({ at: Date.now(), channel, text: String(form.text ?? ''), blocks, ts });
      reply(200, { ok: true, channel, ts, message: { text: form.text, ts } });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;

  /** A person clicking a button of a posted message: Slack's signed block_actions request to `url`. */
  const click = async (url: string, action: { actionId: string; value: string; username: string }, secret = app.signingSecret) => {
    const payload = { type: 'block_actions', user: { id: 'U0TEST', username: action.username }, actions: [{ action_id: action.actionId, value: action.value, type: 'button' }] };
    const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
    const timestamp = String(Math.floor(Date.now() / 1000));
    const signature = `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': timestamp, 'x-slack-signature': signature }, body });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  return { apiUrl: `http://127.0.0.1:${port}/api/`, posts, control, click, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}
