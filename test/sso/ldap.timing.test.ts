import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { performance } from 'node:perf_hooks';
import { client, tokenFor } from '../fixtures/http.ts';
import { describeRatio, pairedRatio } from '../fixtures/paired-timing.ts';
import { createUser } from '../fixtures/users.ts';
import { startLdap, type LdapPeer } from '../peers/ldap.ts';
import { ownRedisKeys, startApi, type TestApi } from '../peers/stack.ts';

// No user enumeration by timing through the directory either: a wrong password for a username the
// directory holds and any password for one it does not must cost the same, as for local passwords
// (test/identity/login.timing.test.ts), measured alike (test/fixtures/paired-timing.ts).
const PAIRS = 151;
const slug = `ldap-timing-${crypto.randomUUID().slice(0, 6)}`;
let api: TestApi;
let ldap: LdapPeer;
beforeAll(async () => {
  [api, ldap] = await Promise.all([
    startApi({ ...ownRedisKeys('ldap-timing'), RATE_LIMIT_LOGIN_PER_MINUTE: '100000', LOGIN_FREE_FAILURES: '100000' }),
    // Passwords hashed with argon2, as a directory should keep them: checking a wrong one takes real time.
    startLdap([{ uid: 'alice', password: 'alice-password', mail: 'alice@dir.test', cn: 'Alice' }], { ops: ['alice'] }, { argon2: true }),
  ]);
  const admin = await tokenFor(api, (await createUser(api.deps.db.em, { role: 'platform-admin' })).id);
  const res = await client(api, admin).post('/api/v1/auth/providers', {
    slug, name: 'Directory', type: 'ldap',
    settings: { url: ldap.url, bindDn: ldap.serviceDn, userBase: `ou=people,${ldap.suffix}`, groupBase: `ou=groups,${ldap.suffix}` },
    secrets: { bindPassword: ldap.servicePassword },
  });
  expect(res.status).toBe(201);
});
afterAll(async () => {
  await api?.close();
  await ldap?.stop();
});

async function timed(username: string): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${api.baseUrl}/api/v1/sso/${slug}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password: 'not the password at all' }) });
  const body = (await res.json()) as { detail?: string };
  expect({ status: res.status, detail: body.detail }).toEqual({ status: 401, detail: 'invalid username or password' });
  return performance.now() - t0;
}

it('a wrong password for a directory user and any password for an unknown username take the same time (within 10%)', async () => {
  // A running server has seen refused binds before; the first ones here are cold (slapd's first argon2).
  for (let i = 0; i < 5; i++) {
    await timed('alice');
    await timed(`warm-up-${i}`);
  }
  const m = await pairedRatio(PAIRS, () => timed('alice'), () => timed(`nobody-${crypto.randomUUID().slice(0, 8)}`));
  console.log(`LDAP login timing: known ÷ unknown username, ${describeRatio(m)}`);
  expect(m.ratio).toBeGreaterThan(0.9);
  expect(m.ratio).toBeLessThan(1.1);
});
