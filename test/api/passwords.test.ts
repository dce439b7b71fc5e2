import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ensureAdmin } from '../../scripts/create-admin.ts';
import { hashPassword } from '../../core/passwords.ts';
import { holdingLock } from '../fixtures/locks.ts';
import { passwordProblem } from '../../core/password-policy.ts';
import { client, tokenFor } from '../fixtures/http.ts';
import { generate } from 'otplib';
import { createTeam, createUser, PASSWORD } from '../fixtures/users.ts';
import { ownRedisKeys, startApi, type TestApi } from '../peers/stack.ts';

// Where a password is set (admin create, admin reset, the user's change, the first sign-in's change,
// scripts/create-admin.ts) the same policy holds, and a password an admin chose serves one sign-in.
let api: TestApi;
let adminToken: string;
beforeAll(async () => {
  api = await startApi({ RATE_LIMIT_LOGIN_PER_MINUTE: '1000', ...ownRedisKeys('passwords') });
  adminToken = await tokenFor(api, (await createUser(api.deps.db.em, { role: 'platform-admin' })).id);
});
afterAll(() => api.close());

const email = () => `pw-${crypto.randomUUID().slice(0, 8)}@example.test`;
const GOOD = 'plum orbit lantern 47 cascade';
const WEAK = (address: string) => ['aaaaaaaaaaaa', ' '.repeat(12), 'password1234', `${address}-extra`, `Xy9!${address.split('@')[0]}zz`];
const login = (address: string, password: string) => client(api).post('/api/v1/auth/login', { email: address, password });
async function patch(id: string, body: unknown) {
  const res = await fetch(`${api.baseUrl}/api/v1/users/${id}`, { method: 'PATCH', headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` }, body: JSON.stringify(body) });
  return { status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as { errors?: unknown[]; passwordChangeRequired?: boolean } };
}

describe('the password policy', () => {
  it('refuses repeats, blanks, common passwords and the email, accepts a passphrase', () => {
    const address = 'jane.doe@example.test';
    expect(WEAK(address).map((p) => [p, passwordProblem(p, address) !== null])).toEqual(WEAK(address).map((p) => [p, true]));
    expect(passwordProblem(GOOD, address)).toBeNull();
    expect(passwordProblem('short', address)).toBe('at least 12 characters');
    // Only the first 64 characters are estimated: a strong start carries a long tail, a weak start does not.
    expect(passwordProblem(GOOD + 'a'.repeat(900), address)).toBeNull();
    expect(passwordProblem('a'.repeat(64) + GOOD, address)).toMatch(/too easy to guess/);
  });

  it('applies to users an admin creates: 400 problem+json naming the field, no user written', async () => {
    for (let i = 0; i < WEAK('').length; i++) {
      const address = email();
      const password = WEAK(address)[i]!;
      const res = await client(api, adminToken).post('/api/v1/users', { email: address, name: 'New Person', password });
      expect([res.status, res.headers.get('content-type'), res.body.errors?.[0]?.field]).toEqual([400, expect.stringContaining('problem+json'), 'password']);
      expect((await login(address, password)).status).toBe(401);
    }
  });

  it('applies to scripts/create-admin.ts', async () => {
    await expect(ensureAdmin(process.env.DATABASE_URL!, { email: email(), password: 'password1234' })).rejects.toThrow(/OPSSIGHT_ADMIN_PASSWORD is not acceptable/);
  });

  it('applies to a password change: 400 naming newPassword', async () => {
    const user = await createUser(api.deps.db.em);
    const token = (await login(user.email, PASSWORD)).body.accessToken as string;
    for (const newPassword of WEAK(user.email)) {
      const res = await client(api, token).post('/api/v1/auth/password', { currentPassword: PASSWORD, newPassword });
      expect([res.status, res.body.errors?.[0]?.field]).toEqual([400, 'newPassword']);
    }
    expect((await client(api, token).post('/api/v1/auth/password', { currentPassword: PASSWORD, newPassword: GOOD })).status).toBe(204);
    expect((await login(user.email, GOOD)).status).toBe(200);
  });
});

describe('a password an admin set', () => {
  it('signs in once, to set the user’s own; then only the new one works', async () => {
    const address = email();
    const oneTime = 'violet harbor 93 quartz meadow';
    expect((await client(api, adminToken).post('/api/v1/users', { email: address, name: 'Invited', password: oneTime })).body.passwordChangeRequired).toBe(true);
    const first = await login(address, oneTime);
    expect([first.status, first.body.passwordChangeRequired, first.body.accessToken]).toEqual([403, true, undefined]);
    // The wrong one-time password gets nothing, not even the hint.
    expect((await client(api).post('/api/v1/auth/password/initial', { email: address, currentPassword: 'wrong password here', newPassword: GOOD })).status).toBe(401);
    const weak = await client(api).post('/api/v1/auth/password/initial', { email: address, currentPassword: oneTime, newPassword: 'password1234' });
    expect([weak.status, weak.body.errors?.[0]?.field]).toEqual([400, 'newPassword']);
    const set = await client(api).post('/api/v1/auth/password/initial', { email: address, currentPassword: oneTime, newPassword: GOOD });
    expect(set.status).toBe(200);
    expect((await client(api, set.body.accessToken).get('/api/v1/me')).body.user.email).toBe(address);
    expect((await login(address, oneTime)).status).toBe(401);
    expect((await login(address, GOOD)).status).toBe(200);
    // Spent: the initial-password route no longer applies.
    expect((await client(api).post('/api/v1/auth/password/initial', { email: address, currentPassword: GOOD, newPassword: 'another fresh 58 passphrase' })).status).toBe(401);
  });

  it('an admin reset (PATCH password) ends the user’s sessions and makes the next sign-in set a new one', async () => {
    const user = await createUser(api.deps.db.em);
    const session = (await login(user.email, PASSWORD)).body as { accessToken: string; refreshToken: string };
    const weak = await patch(user.id, { password: 'aaaaaaaaaaaa' });
    expect([weak.status, weak.type, weak.body.errors]).toEqual([400, expect.stringContaining('problem+json'), [expect.objectContaining({ field: 'password' })]]);
    expect((await login(user.email, PASSWORD)).status).toBe(200);

    const reset = await patch(user.id, { password: 'amber falcon 61 drizzle tundra' });
    expect([reset.status, reset.body.passwordChangeRequired]).toEqual([200, true]);
    expect((await client(api, session.accessToken).get('/api/v1/me')).status).toBe(401);
    expect((await client(api).post('/api/v1/auth/refresh', { refreshToken: session.refreshToken })).status).toBe(401);
    expect((await login(user.email, PASSWORD)).status).toBe(401);
    expect((await login(user.email, 'amber falcon 61 drizzle tundra')).status).toBe(403);
  });

  it('an admin reset revokes the user’s API tokens as well', async () => {
    const team = await createTeam(api.deps.db.em);
    const user = await createUser(api.deps.db.em, { teams: [team], role: 'operator' });
    const session = (await login(user.email, PASSWORD)).body.accessToken as string;
    const minted = await client(api, session).post('/api/v1/me/tokens', { name: 'ci', team: team.slug, permissions: ['runs:read'] });
    expect(minted.status).toBe(201);
    expect((await client(api, minted.body.token).get('/api/v1/runs')).status).toBe(200);
    expect((await patch(user.id, { password: 'amber falcon 61 drizzle tundra' })).status).toBe(200);
    expect((await client(api, minted.body.token).get('/api/v1/runs')).status).toBe(401);
  });

  it('keeps the second factor: the first sign-in after a reset asks for it, and a wrong one changes nothing', async () => {
    const user = await createUser(api.deps.db.em);
    const session = (await login(user.email, PASSWORD)).body.accessToken as string;
    // Recovery codes below, not TOTP codes: the enrolment spent the current time step.
    const codes = await enrolled(session);
    const oneTime = 'amber falcon 61 drizzle tundra';
    expect((await patch(user.id, { password: oneTime })).status).toBe(200);

    // Login does not spend the code: it only says the password must be replaced.
    expect((await login(user.email, oneTime)).status).toBe(403);
    const initial = (mfaCode?: string) => client(api).post('/api/v1/auth/password/initial', { email: user.email, currentPassword: oneTime, newPassword: GOOD, ...(mfaCode ? { mfaCode } : {}) });
    const bare = await initial();
    expect([bare.status, bare.body.mfaRequired, bare.body.accessToken]).toEqual([401, true, undefined]);
    const wrong = await initial('000000');
    expect([wrong.status, wrong.body.detail, wrong.body.accessToken]).toEqual([401, 'invalid second factor', undefined]);
    expect((await login(user.email, GOOD)).status).toBe(401);
    expect((await login(user.email, oneTime)).status).toBe(403);

    const set = await initial(codes[0]);
    expect(set.status).toBe(200);
    expect((await client(api).post('/api/v1/auth/login', { email: user.email, password: GOOD, mfaCode: codes[1] })).status).toBe(200);
  });

  it('leaves the recovery code unspent when an admin reset lands while the first sign-in sets its password', async () => {
    const user = await createUser(api.deps.db.em);
    const codes = await enrolled((await login(user.email, PASSWORD)).body.accessToken as string);
    const first = 'amber falcon 61 drizzle tundra';
    const second = 'cobalt meadow 83 ember quartz';
    expect((await patch(user.id, { password: first })).status).toBe(200);
    // The sign-in proved `first`; the user's row is locked until an admin's reset to `second` commits,
    // so the password it proved is gone when it comes to set its own.
    const secondHash = await hashPassword(second);
    const [refused] = await holdingLock(
      () => api.deps.db.em.fork(),
      { sql: 'select id from users where id = ? for update', params: [user.id] },
      1,
      () => [client(api).post('/api/v1/auth/password/initial', { email: user.email, currentPassword: first, newPassword: GOOD, mfaCode: codes[0] })],
      (tx) => tx.execute('update users set password_hash = ? where id = ?', [secondHash, user.id]),
    );
    expect((await refused!).status).toBe(401);
    const set = await client(api).post('/api/v1/auth/password/initial', { email: user.email, currentPassword: second, newPassword: GOOD, mfaCode: codes[0] });
    expect([set.status, set.body.detail]).toEqual([200, undefined]);
  });

  it('an admin can remove a second factor the owner lost (or someone else enrolled): the next sign-in needs no code', async () => {
    const user = await createUser(api.deps.db.em);
    await enrolled((await login(user.email, PASSWORD)).body.accessToken as string);
    const oneTime = 'amber falcon 61 drizzle tundra';
    expect((await patch(user.id, { password: oneTime, removeMfa: true })).status).toBe(200);
    const set = await client(api).post('/api/v1/auth/password/initial', { email: user.email, currentPassword: oneTime, newPassword: GOOD });
    expect(set.status).toBe(200);
    expect((await client(api, set.body.accessToken).get('/api/v1/me/mfa')).body).toEqual({ enrolled: false, recoveryCodesLeft: 0 });
    const audit = await api.deps.db.em.fork().getConnection().execute<{ data: { changes: Record<string, unknown> } }[]>(
      `select data from audit_log where action = 'user.update' and resource_id = ? order by id desc limit 1`,
      [user.id],
    );
    expect(audit[0]?.data.changes.mfa).toEqual({ from: 'enrolled', to: 'removed' });
  });

  it('tells nobody which emails have accounts: a wrong one-time password is a 401 whatever the new password', async () => {
    const invited = email();
    expect((await client(api, adminToken).post('/api/v1/users', { email: invited, name: 'Invited', password: 'violet harbor 93 quartz meadow' })).status).toBe(201);
    const settled = await createUser(api.deps.db.em);
    const tries = [
      { email: email(), currentPassword: 'anything at all here' },
      { email: invited, currentPassword: 'not the one-time password' },
      { email: settled.email, currentPassword: 'not their password either' },
      // The user's own password does not open this route either.
      { email: settled.email, currentPassword: PASSWORD },
    ];
    for (const t of tries) {
      const res = await client(api).post('/api/v1/auth/password/initial', { ...t, newPassword: 'password1234' });
      expect([t.email, res.status, res.body.detail]).toEqual([t.email, 401, 'invalid email or password']);
    }
  });
});

/** Turns on the pending TOTP enrolment of the session's user; returns their recovery codes. */
async function enrolled(session: string): Promise<string[]> {
  const pending = await client(api, session).post('/api/v1/me/mfa/totp', { currentPassword: PASSWORD });
  const verified = await client(api, session).post('/api/v1/me/mfa/totp/verify', { code: await generate({ secret: pending.body.secret as string }) });
  expect(verified.status).toBe(200);
  return verified.body.recoveryCodes as string[];
}
