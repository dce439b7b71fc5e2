import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { performance } from 'node:perf_hooks';
import { createUser } from '../fixtures/users.ts';
import { ownRedisKeys, startApi, type TestApi } from '../peers/stack.ts';

// No user enumeration by timing: a failed login for an email with an account and for one without must
// cost the same. Samples come in pairs, one of each back to back (which goes first alternates), so
// whatever else the machine does hits both alike; the median of the pairs' ratios is compared, which
// neither a slow sample nor load that comes and goes can move.
const SAMPLES = 31;
let api: TestApi;
beforeAll(async () => {
  api = await startApi({ ...ownRedisKeys('login-timing'), RATE_LIMIT_LOGIN_PER_MINUTE: '100000', LOGIN_FREE_FAILURES: '100000' });
});
afterAll(() => api.close());

async function timed(email: string): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${api.baseUrl}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: 'not the password at all' }) });
  await res.text();
  expect(res.status).toBe(401);
  return performance.now() - t0;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

it('a wrong password for a known email and any password for an unknown one take the same time (within 10%)', async () => {
  const known = await createUser(api.deps.db.em);
  await timed(known.email);
  await timed('warm-up@example.test');
  const k: number[] = [];
  const u: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const unknown = `nobody-${crypto.randomUUID().slice(0, 8)}@example.test`;
    // Which goes first alternates too, so neither side always pays for a cold cache.
    if (i % 2) {
      k.push(await timed(known.email));
      u.push(await timed(unknown));
    } else {
      u.push(await timed(unknown));
      k.push(await timed(known.email));
    }
  }
  const ratio = median(k.map((t, i) => t / u[i]!));
  console.log(`login timing: known ÷ unknown email, median of ${SAMPLES} pairs ${ratio.toFixed(3)} (medians ${median(k).toFixed(1)} ms, ${median(u).toFixed(1)} ms)`);
  expect(ratio).toBeGreaterThan(0.9);
  expect(ratio).toBeLessThan(1.1);
});
