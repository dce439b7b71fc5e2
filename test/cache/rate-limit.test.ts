import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { BUDGET_SYNC_MS } from '../../core/rate-budget.ts';
import { initOrm, type Db } from '../../db/orm.ts';
import { client } from '../fixtures/http.ts';
import { until } from '../fixtures/until.ts';
import { createUser, PASSWORD } from '../fixtures/users.ts';
import { startApiProcess, type ApiProcess } from '../peers/api-process.ts';

// The per-user API budget is counted in each process and synchronised through Redis in batches (no
// Redis round trip per request): across two real API processes a user gets the limit, give or take
// what one process admitted before it heard of the other's (core/rate-budget.ts states the bound).
const LIMIT = 40;
let a: ApiProcess;
let b: ApiProcess;
let db: Db;

beforeAll(async () => {
  [a, b] = await Promise.all([startApiProcess({ RATE_LIMIT_API_PER_MINUTE: String(LIMIT) }), startApiProcess({ RATE_LIMIT_API_PER_MINUTE: String(LIMIT) })]);
  db = await initOrm(process.env.DATABASE_URL!);
});
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await db?.close();
});

/** The minute-aligned window must not roll over mid-test: wait for a fresh one when too little is left. */
async function freshWindow(needMs: number) {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < needMs) await until('the next rate-limit window', async () => (60_000 - (Date.now() % 60_000) > needMs ? true : undefined), left + 1_000, 100);
}

describe('the per-user API budget across two processes', () => {
  it('admits the limit in total, within one sync interval of traffic, then refuses on both', async () => {
    const user = await createUser(db.em, { role: 'viewer' });
    const token = (await client(a).post('/api/v1/auth/login', { email: user.email, password: PASSWORD })).body.accessToken as string;
    await freshWindow(20_000);
    // Alternating processes, one request at a time: each learns the other's count within a sync.
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT + 20; i++) {
      const api = i % 2 ? b : a;
      statuses.push((await client(api, token).get('/api/v1/me')).status);
      // Paced at about one sync interval per pair of requests, as a busy dashboard would be.
      if (i % 2) await new Promise((r) => setTimeout(r, BUDGET_SYNC_MS / 2));
    }
    const admitted = statuses.filter((s) => s === 200).length;
    expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
    expect(admitted).toBeGreaterThanOrEqual(LIMIT);
    // Tolerance: what the other process admitted in the last two sync intervals (here at most 4).
    expect(admitted).toBeLessThanOrEqual(LIMIT + 4);
    // Once both have synced, both refuse, with Retry-After until the window ends.
    for (const api of [a, b]) {
      await until('a refusal', async () => ((await client(api, token).get('/api/v1/me')).status === 429 ? true : undefined), 2_000, BUDGET_SYNC_MS);
      const refused = await client(api, token).get('/api/v1/me');
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    }
  });

  it('a burst on both processes at once overshoots by at most what they admitted within a sync interval', async () => {
    const user = await createUser(db.em, { role: 'viewer' });
    const token = (await client(a).post('/api/v1/auth/login', { email: user.email, password: PASSWORD })).body.accessToken as string;
    await freshWindow(20_000);
    const burst = (api: ApiProcess) => Promise.all(Array.from({ length: LIMIT }, () => client(api, token).get('/api/v1/me').then((r) => r.status)));
    const [onA, onB] = await Promise.all([burst(a), burst(b)]);
    const admitted = [...onA, ...onB].filter((s) => s === 200).length;
    expect(admitted).toBeGreaterThanOrEqual(LIMIT);
    // Each process alone never passes the limit; together they pass it by what the other admitted
    // before the next sync: never more than twice the limit, and then nothing more this window.
    expect(onA.filter((s) => s === 200).length).toBeLessThanOrEqual(LIMIT);
    expect(onB.filter((s) => s === 200).length).toBeLessThanOrEqual(LIMIT);
    for (const api of [a, b]) {
      await until('a refusal', async () => ((await client(api, token).get('/api/v1/me')).status === 429 ? true : undefined), 2_000, BUDGET_SYNC_MS);
    }
  });
});
