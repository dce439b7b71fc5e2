import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type TwilioMessage = { sid: string; at: number; to: string; from: string; body: string };
type Account = { accountSid: string; authToken: string; numbers: string[] };

/**
 * Twilio's Messages API (`POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, form-encoded To,
 * From, Body) as documented: HTTP Basic with the account SID and auth token, else 401 code 20003; a
 * From that is not the account's number is a 400 (21606), a To that is not E.164 a 400 (21211);
 * accepted messages are a 201 with the message resource. On demand: 500, 429 (code 20429), no
 * answer at all (`hangNext`) or the connection closed without an answer (`dropNext`). `reply` plays Twilio delivering an inbound SMS to a messaging webhook,
 * signed the way Twilio documents X-Twilio-Signature.
 */
export async function startTwilioPeer(account: Account) {
  const messages: TwilioMessage[] = [];
  const control = { failNext: 0, rateLimitNext: 0, hangNext: 0, dropNext: 0 };
  const hung: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString('utf8')));
    req.on('end', () => {
      const reply = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      const error = (status: number, code: number, message: string) => reply(status, { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status });
      const path = `/2010-04-01/Accounts/${account.accountSid}/Messages.json`;
      const [user, pass] = Buffer.from((req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString().split(':');
      if (user !== account.accountSid || pass !== account.authToken) return error(401, 20003, 'Authenticate');
      if (req.method !== 'POST' || req.url !== path) return error(404, 20404, 'The requested resource was not found');
      if (control.dropNext > 0) {
        control.dropNext--;
        req.socket.destroy();
        return;
      }
      if (control.hangNext > 0) {
        control.hangNext--;
        hung.push(res);
        return;
      }
      if (control.rateLimitNext > 0) {
        control.rateLimitNext--;
        return error(429, 20429, 'Too Many Requests');
      }
      if (control.failNext > 0) {
        control.failNext--;
        return error(500, 20500, 'Internal Server Error');
      }
      const form = new URLSearchParams(raw);
      const to = form.get('To') ?? '';
      const from = form.get('From') ?? '';
      const body = form.get('Body') ?? '';
      if (!/^\+[1-9]\d{6,14}$/.test(to)) return error(400, 21211, `The 'To' number ${to} is not a valid phone number.`);
      if (!account.numbers.includes(from)) return error(400, 21606, `The From phone number ${from} is not a valid, SMS-capable inbound phone number or short code for your account.`);
      if (!body || body.length > 1600) return error(400, 21617, 'The concatenated message body exceeds the 1600 character limit.');
      const sid = `SM${crypto.randomUUID().replaceAll('-', '')}`;
      messages.push({ sid, at: Date.now(), to, from, body });
      reply(201, { sid, account_sid: account.accountSid, to, from, body, status: 'queued', num_segments: '1', direction: 'outbound-api', date_created: new Date().toUTCString(), uri: `${path.replace('.json', '')}/${sid}.json` });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));

  /** X-Twilio-Signature: base64 HMAC-SHA1 of the URL followed by each POST field name and value, sorted by name. */
  const sign = (authToken: string, url: string, params: Record<string, string>) =>
    createHmac('sha1', authToken).update(url + Object.keys(params).sort().map((k) => k + params[k]).join('')).digest('base64');

  async function reply(url: string, sms: { from: string; to: string; body: string }, authToken = account.authToken) {
    const params = { AccountSid: account.accountSid, ApiVersion: '2010-04-01', Body: sms.body, From: sms.from, MessageSid: `SM${crypto.randomUUID().replaceAll('-', '')}`, NumMedia: '0', SmsStatus: 'received', To: sms.to };
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': sign(authToken, url, params) }, body: new URLSearchParams(params).toString() });
    return { status: res.status, text: await res.text() };
  }

  return {
    apiUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    messages,
    control,
    reply,
    close: () => new Promise<void>((r) => { for (const res of hung) res.destroy(); server.closeAllConnections(); server.close(() => r()); }),
  };
}
