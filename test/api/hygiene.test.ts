import http from 'node:http';
import { brotliDecompressSync, gunzipSync, zstdDecompressSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { tokenFor } from '../fixtures/http.ts';
import { createUser } from '../fixtures/users.ts';
import { startApi, type TestApi } from '../peers/stack.ts';

const ALLOWED = 'https://ui.example.test';
let api: TestApi;
beforeAll(async () => {
  api = await startApi({ CORS_ORIGINS: `${ALLOWED},https://other-ui.example.test`, BODY_LIMIT: '2kb', RATE_LIMIT_LOGIN_PER_MINUTE: '3', RATE_LIMIT_API_PER_MINUTE: '3' });
});
afterAll(() => api.close());

type Raw = { status: number; headers: http.IncomingHttpHeaders; body: Buffer };
/**
 * A plain HTTP request, optionally from another loopback address: the per-IP login budget is shared
 * by every test file that logs in from 127.0.0.1, so the brute-force test uses an address of its own.
 */
function request(method: string, path: string, opts: { headers?: Record<string, string>; body?: string; from?: string } = {}): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const url = new URL(api.baseUrl + path);
    const req = http.request(
      { method, host: url.hostname, port: url.port, path, headers: opts.headers ?? {}, ...(opts.from ? { localAddress: opts.from } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}
const json = (body: unknown) => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const randomLoopback = () => `127.${1 + Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.${2 + Math.floor(Math.random() * 250)}`;

describe('request hygiene', () => {
  it('sets security headers: the strictest on answers that are not documents, the dashboard\'s policy on HTML', async () => {
    for (const path of ['/api/v1/openapi.json', '/api/v1/no-such-route']) {
      const res = await request('GET', path);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
      expect(res.headers['strict-transport-security']).toMatch(/max-age=\d+/);
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['cross-origin-resource-policy']).toBe('same-origin');
      expect(res.headers['x-dns-prefetch-control']).toBeUndefined();
      expect(res.headers['x-powered-by']).toBeUndefined();
      expect(res.headers['x-request-id']).toBeTruthy();
    }
    const page = await request('GET', '/api/v1/docs');
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['x-dns-prefetch-control']).toBe('off');
  });

  it('marks every API answer Cache-Control: no-store: tokens, runs with their files and variables, errors', async () => {
    const user = await createUser(api.deps.db.em);
    const token = await tokenFor(api, user.id);
    const auth = { headers: { authorization: `Bearer ${token}` } };
    const answers = [
      await request('GET', '/api/v1/me', auth),
      await request('GET', '/api/v1/runs', auth),
      // (3 authenticated requests: this instance's RATE_LIMIT_API_PER_MINUTE)
      await request('GET', `/api/v1/runs/${crypto.randomUUID()}`, auth),
      await request('GET', '/api/v1/me'),
      await request('POST', '/api/v1/auth/login', { ...json({ email: user.email, password: user.password }), from: randomLoopback() }),
    ];
    expect(answers.map((r) => [r.status, r.headers['cache-control']])).toEqual([
      [200, 'no-store'],
      [200, 'no-store'],
      [404, 'no-store'],
      [401, 'no-store'],
      [200, 'no-store'],
    ]);
  });

  it('keeps a caller’s X-Request-Id only when it is a short plain token, and never echoes anything else', async () => {
    const kept = await request('GET', '/health', { headers: { 'x-request-id': 'req-42.abc:7' } });
    expect(kept.headers['x-request-id']).toBe('req-42.abc:7');
    for (const given of ['<script>alert(1)</script>', 'a'.repeat(129), 'two words', 'é']) {
      const res = await request('GET', '/health', { headers: { 'x-request-id': given } });
      expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it('echoes an allowed Origin and ignores any other', async () => {
    const allowed = await request('GET', '/api/v1/openapi.json', { headers: { origin: ALLOWED } });
    expect(allowed.headers['access-control-allow-origin']).toBe(ALLOWED);
    expect(allowed.headers['access-control-allow-credentials']).toBe('true');
    const preflight = await request('OPTIONS', '/api/v1/runs', {
      headers: { origin: ALLOWED, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe(ALLOWED);
    expect(preflight.headers['access-control-allow-methods']).toContain('POST');

    const other = await request('GET', '/api/v1/openapi.json', { headers: { origin: 'https://evil.example.test' } });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    const otherPreflight = await request('OPTIONS', '/api/v1/runs', { headers: { origin: 'https://evil.example.test', 'access-control-request-method': 'POST' } });
    expect(otherPreflight.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('answers a body over BODY_LIMIT with 413 problem+json', async () => {
    const res = await request('POST', '/api/v1/auth/refresh', json({ refreshToken: 'x'.repeat(4096) }));
    expect(res.status).toBe(413);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(JSON.parse(res.body.toString())).toMatchObject({ status: 413, instance: '/api/v1/auth/refresh' });
  });

  it('gzips large JSON when the client accepts it, and only then', async () => {
    const zipped = await request('GET', '/api/v1/openapi.json', { headers: { 'accept-encoding': 'gzip' } });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    const doc = JSON.parse(gunzipSync(zipped.body).toString());
    expect(doc.openapi).toBe('3.1.0');
    expect(zipped.body.length).toBeLessThan(gunzipSync(zipped.body).length / 2);
    const plain = await request('GET', '/api/v1/openapi.json', { headers: { 'accept-encoding': 'identity' } });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(JSON.parse(plain.body.toString()).openapi).toBe('3.1.0');
  });

  it('compresses a JSON answer in one call (it has a length, not chunks): zstd for a browser, br or gzip for others', async () => {
    const asIs = JSON.parse((await request('GET', '/api/v1/openapi.json')).body.toString());
    const decoders = { zstd: zstdDecompressSync, br: brotliDecompressSync, gzip: gunzipSync };
    for (const [accepted, encoding] of [['gzip, deflate, br, zstd', 'zstd'], ['br;q=1, gzip;q=0.5', 'br'], ['*', 'gzip'], ['zstd;q=0, gzip', 'gzip']] as const) {
      const res = await request('GET', '/api/v1/openapi.json', { headers: { 'accept-encoding': accepted } });
      expect([accepted, res.headers['content-encoding']]).toEqual([accepted, encoding]);
      expect(Number(res.headers['content-length'])).toBe(res.body.length);
      expect(JSON.parse(decoders[encoding](res.body).toString())).toEqual(asIs);
    }
  });

  it('answers the kinds in brotli, gzip or as is from bytes compressed once, with their length', async () => {
    const user = await createUser(api.deps.db.em);
    const get = async (acceptEncoding?: string) => request('GET', '/api/v1/kinds', { headers: { authorization: `Bearer ${await tokenFor(api, user.id)}`, ...(acceptEncoding ? { 'accept-encoding': acceptEncoding } : {}) } });
    const plain = await get();
    const kinds = JSON.parse(plain.body.toString());
    expect(kinds.kinds.map((k: { kind: string }) => k.kind)).toContain('deploy');
    expect(plain.headers['content-encoding']).toBeUndefined();
    // A browser names zstd, br and gzip; br is the smallest of the two kept.
    const br = await get('gzip, deflate, br, zstd');
    expect(br.headers['content-encoding']).toBe('br');
    expect(JSON.parse(brotliDecompressSync(br.body).toString())).toEqual(kinds);
    const gzip = await get('gzip');
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(JSON.parse(gunzipSync(gzip.body).toString())).toEqual(kinds);
    for (const res of [plain, br, gzip]) {
      // Compressing per request would stream the answer without a length.
      expect(Number(res.headers['content-length'])).toBe(res.body.length);
      expect(res.headers.vary).toMatch(/Accept-Encoding/i);
    }
    expect(br.body.length).toBeLessThan(plain.body.length / 3);
    expect((await get('identity')).headers['content-encoding']).toBeUndefined();
  });
});

describe('rate limits', () => {
  it('locks an address out of login after RATE_LIMIT_LOGIN_PER_MINUTE failures, even with the right password', async () => {
    const user = await createUser(api.deps.db.em);
    const from = randomLoopback();
    for (let i = 0; i < 3; i++) {
      expect((await request('POST', '/api/v1/auth/login', { ...json({ email: user.email, password: `guess-${i}` }), from })).status).toBe(401);
    }
    const blocked = await request('POST', '/api/v1/auth/login', { ...json({ email: user.email, password: user.password }), from });
    expect(blocked.status).toBe(429);
    expect(blocked.headers['content-type']).toMatch(/application\/problem\+json/);
    const retryAfter = Number(blocked.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // Another address is unaffected.
    expect((await request('POST', '/api/v1/auth/login', { ...json({ email: user.email, password: user.password }), from: randomLoopback() })).status).toBe(200);
  });

  it('does not count successful logins against the address', async () => {
    const user = await createUser(api.deps.db.em);
    const from = randomLoopback();
    for (let i = 0; i < 5; i++) {
      expect((await request('POST', '/api/v1/auth/login', { ...json({ email: user.email, password: user.password }), from })).status).toBe(200);
    }
  });

  it('limits each user to RATE_LIMIT_API_PER_MINUTE authenticated requests', async () => {
    const [a, b] = await Promise.all([createUser(api.deps.db.em), createUser(api.deps.db.em)]);
    const tokenA = await tokenFor(api, a.id);
    const tokenB = await tokenFor(api, b.id);
    const me = (token: string) => request('GET', '/api/v1/me', { headers: { authorization: `Bearer ${token}` } });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await me(tokenA)).status);
    expect(statuses).toEqual([200, 200, 200]);
    const limited = await me(tokenA);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(limited.body.toString())).toMatchObject({ status: 429, title: 'Too many requests' });
    const other = await me(tokenB);
    expect(other.status).toBe(200);
    expect(other.headers['x-ratelimit-remaining']).toBe('2');
  });
});
