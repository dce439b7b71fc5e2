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

  const click = (url: string, action: { actionId: string; value: string; username: string }, secret = app.signingSecret) => slackClick(url, action, secret);
  return { apiUrl: `http://127.0.0.1:${port}/api/`, posts, control, click, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

/** A person clicking a button of a posted message: Slack's block_actions request to `url`, signed with `secret` the way Slack does. */
export async function slackClick(url: string, action: { actionId: string; value: string; username: string }, secret: string) {
  const payload = { type: 'block_actions', user: { id: 'U0TEST', username: action.username }, actions: [{ action_id: action.actionId, value: action.value, type: 'button' }] };
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signature = `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': timestamp, 'x-slack-signature': signature }, body });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

export type SlackWebhookPost = { at: number; hook: string; channel: string; text: string; blocks: unknown[] };
type Refusal = { status: number; body: string; retryAfter?: string };

/**
 * Slack's incoming webhooks as documented (api.slack.com/messaging/webhooks and the 2016 change to
 * their errors): POST a JSON body (or form-encoded `payload`) to the webhook's secret URL; 200 "ok";
 * 400 invalid_payload for a body that is not a message, no_text without text or blocks; 404
 * no_service for a URL Slack does not know (revoked); 410 channel_is_archived once its channel is
 * archived. `refuseNext` queues answers for the next posts (429 with Retry-After, 500 rollup_error…).
 * Each hook posts to the one channel it was made for.
 */
export async function startSlackWebhookPeer() {
  const posts: SlackWebhookPost[] = [];
  const hooks = new Map<string, { channel: string; archived: boolean }>();
  const refusals: Refusal[] = [];
  const tries: { at: number; hook: string; status: number }[] = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString('utf8')));
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0]!;
      const reply = (status: number, body: string, headers: Record<string, string> = {}) => {
        tries.push({ at: Date.now(), hook: path, status });
        res.writeHead(status, { 'content-type': 'text/html', ...headers }).end(body);
      };
      const hook = hooks.get(path);
      if (req.method !== 'POST' || !hook) return reply(404, 'no_service');
      const refusal = refusals.shift();
      if (refusal) return reply(refusal.status, refusal.body, refusal.retryAfter ? { 'retry-after': refusal.retryAfter } : {});
      if (hook.archived) return reply(410, 'channel_is_archived');
      let message: { text?: unknown; blocks?: unknown };
      try {
        const json = String(req.headers['content-type']).startsWith('application/json') ? raw : (new URLSearchParams(raw).get('payload') ?? '');
        message = JSON.parse(json) as typeof message;
      } catch {
        return reply(400, 'invalid_payload');
      }
      if (typeof message !== 'object' || message === null || (message.blocks !== undefined && !Array.isArray(message.blocks))) return reply(400, 'invalid_payload');
      if (!message.text && !(message.blocks as unknown[] | undefined)?.length) return reply(400, 'no_text');
      posts.push({ at: Date.now(), hook: path, channel: hook.channel, text: String(message.text ?? ''), blocks: (message.blocks as unknown[]) ?? [] });
      reply(200, 'ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;

  /** A new webhook to `channel`: its URL, with a secret path the way Slack makes them. */
  const create = (channel: string) => {
    const path = `/services/T0TEST/B${crypto.randomUUID().slice(0, 8).toUpperCase()}/${crypto.randomUUID().replaceAll('-', '')}`;
    hooks.set(path, { channel, archived: false });
    return { url: `${base}${path}`, path, archive: () => (hooks.get(path)!.archived = true), revoke: () => hooks.delete(path) };
  };
  const refuseNext = (...answers: Refusal[]) => refusals.push(...answers);
  return { posts, tries, create, refuseNext, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}
