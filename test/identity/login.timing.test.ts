import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { performance } from 'node:perf_hooks';
import { describeRatio, pairedRatio } from '../fixtures/paired-timing.ts';
import { createUser } from '../fixtures/users.ts';
import { ownRedisKeys, startApi, type TestApi } from '../peers/stack.ts';

// No user enumeration by timing: a failed login for an email with an account and for one without must
// cost the same (test/fixtures/paired-timing.ts says how that is measured on a noisy machine).
const PAIRS = 151;
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

it('a wrong password for a known email and any password for an unknown one take the same time (within 10%)', async () => {
  const known = await createUser(api.deps.db.em);
  await timed(known.email);
  await timed('warm-up@example.test');
  const m = await pairedRatio(PAIRS, () => timed(known.email), () => timed(`nobody-${crypto.randomUUID().slice(0, 8)}@example.test`));
  console.log(`login timing: known ÷ unknown email, ${describeRatio(m)}`);
  expect(m.ratio).toBeGreaterThan(0.9);
  expect(m.ratio).toBeLessThan(1.1);
});
