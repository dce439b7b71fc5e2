import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AuditLogSchema } from '../../db/entities/index.ts';
import { until } from '../fixtures/until.ts';
import { createUser, PASSWORD } from '../fixtures/users.ts';
import { startApi, type TestApi } from '../peers/stack.ts';

// Guessing is limited per account (growing waits, wherever the guesses come from) and per client
// address; the address is the socket's, or X-Forwarded-For's only through a trusted proxy.
let api: TestApi;
let proxied: TestApi;
beforeAll(async () => {
  [api, proxied] = await Promise.all([
    startApi({ LOGIN_FREE_FAILURES: '3', LOGIN_MAX_BACKOFF_SECONDS: '2' }),
    startApi({ TRUSTED_PROXIES: '127.0.0.1', RATE_LIMIT_LOGIN_PER_MINUTE: '2', LOGIN_FREE_FAILURES: '100' }),
  ]);
});
afterAll(() => Promise.all([api.close(), proxied.close()]));

type Answer = { status: number; retryAfter: number | undefined };
/** A JSON POST from a loopback address of its own (`from`), optionally through X-Forwarded-For. */
function post(target: TestApi, path: string, body: unknown, opts: { from?: string; xff?: string; token?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const url = new URL(target.baseUrl + path);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (opts.xff) headers['x-forwarded-for'] = opts.xff;
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    const req = http.request({ method: 'POST', host: url.hostname, port: url.port, path, headers, ...(opts.from ? { localAddress: opts.from } : {}) }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'] ? Number(res.headers['retry-after']) : undefined }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}
const randomLoopback = () => `127.${1 + Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.${2 + Math.floor(Math.random() * 250)}`;
const login = (target: TestApi, email: string, password: string, opts: { from?: string; xff?: string } = {}) =>
  post(target, '/api/v1/auth/login', { email, password }, { from: randomLoopback(), ...opts });
/** Waits out an account's back-off: tries (wrongly) until the answer is no longer 429, and returns that answer. */
const afterBackOff = (email: string) =>
  until('the back-off to pass', async () => {
    const res = await login(api, email, 'still wrong');
    return res.status === 429 ? undefined : res;
  }, 10_000, 100);

describe('per account', () => {
  it('ten failures from one address on one account leave a correct login of another user behind it alone', async () => {
    const [victim, colleague] = [await createUser(api.deps.db.em), await createUser(api.deps.db.em)];
    const from = randomLoopback();
    for (let i = 0; i < 10; i++) expect([401, 429]).toContain((await login(api, victim.email, `guess-${i}`, { from })).status);
    expect((await login(api, colleague.email, PASSWORD, { from })).status).toBe(200);
  });

  it('doubles the wait after the free failures, from any address, and refuses even the right password meanwhile', async () => {
    const user = await createUser(api.deps.db.em);
    for (let i = 0; i < 3; i++) expect((await login(api, user.email, `guess-${i}`)).status).toBe(401);
    expect((await login(api, user.email, 'guess-3')).status).toBe(401); // the 4th failure: 1 s
    const locked = await login(api, user.email, PASSWORD);
    expect(locked).toEqual({ status: 429, retryAfter: 1 });
    expect((await afterBackOff(user.email)).status).toBe(401); // the 5th: 2 s
    expect((await login(api, user.email, PASSWORD)).retryAfter).toBe(2);
    expect((await afterBackOff(user.email)).status).toBe(401); // the 6th: 4 s, capped at LOGIN_MAX_BACKOFF_SECONDS
    expect((await login(api, user.email, PASSWORD)).retryAfter).toBe(2);
    // The right password once the wait is over; it clears the count.
    await until('the last back-off to pass', async () => ((await login(api, user.email, PASSWORD)).status === 200 ? true : undefined), 10_000, 100);
    expect((await login(api, user.email, 'one more slip')).status).toBe(401);
    expect((await login(api, user.email, PASSWORD)).status).toBe(200);
  });

  it('counts wrong current passwords of POST /auth/password the same way, on the same account', async () => {
    const user = await createUser(api.deps.db.em);
    const res = await fetch(`${api.baseUrl}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: user.email, password: PASSWORD }) });
    const { accessToken } = (await res.json()) as { accessToken: string };
    const change = (currentPassword: string) => post(api, '/api/v1/auth/password', { currentPassword, newPassword: 'a brand new passphrase' }, { token: accessToken, from: randomLoopback() });
    for (let i = 0; i < 4; i++) expect((await change(`wrong-${i}`)).status).toBe(403);
    expect((await change(PASSWORD)).status).toBe(429);
    expect((await login(api, user.email, PASSWORD)).status).toBe(429);
  });
});

describe('per address', () => {
  it('believes X-Forwarded-For from a trusted proxy only', async () => {
    const users = await Promise.all([createUser(proxied.deps.db.em), createUser(proxied.deps.db.em), createUser(proxied.deps.db.em)]);
    // Through the proxy (127.0.0.1): each client address has its own budget of 2 failures.
    const client1 = '203.0.113.7';
    for (const u of users.slice(0, 2)) expect((await login(proxied, u.email, 'wrong', { from: '127.0.0.1', xff: client1 })).status).toBe(401);
    expect((await login(proxied, users[2]!.email, PASSWORD, { from: '127.0.0.1', xff: client1 })).status).toBe(429);
    expect((await login(proxied, users[2]!.email, PASSWORD, { from: '127.0.0.1', xff: `198.51.100.1, ${'203.0.113.8'}` })).status).toBe(200);
    const audit = await proxied.deps.db.em.fork().findOneOrFail(AuditLogSchema, { action: 'auth.login', actorId: users[2]!.id });
    expect(audit.ip).toBe('203.0.113.8');

    // Not a trusted proxy: its X-Forwarded-For is ignored, so rotating it buys nothing.
    const direct = randomLoopback();
    for (const u of users.slice(0, 2)) expect((await login(proxied, u.email, 'wrong', { from: direct, xff: `192.0.2.${Math.floor(Math.random() * 200)}` })).status).toBe(401);
    expect((await login(proxied, users[2]!.email, PASSWORD, { from: direct, xff: '192.0.2.250' })).status).toBe(429);
  });
});
