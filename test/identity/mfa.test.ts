import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generate } from 'otplib';
import { client, tokenFor } from '../fixtures/http.ts';
import { simpleConfig } from '../fixtures/terraform.ts';
import { createTeam, createUser, PASSWORD } from '../fixtures/users.ts';
import { ownNamespace } from '../peers/temporal.ts';
import { ownRedisKeys, startApi, type TestApi } from '../peers/stack.ts';

let api: TestApi;
beforeAll(async () => {
  // Few free failures, so a test reaches the lockout in a handful of guesses.
  api = await startApi({ TEMPORAL_NAMESPACE: await ownNamespace('mfa'), ...ownRedisKeys('mfa'), LOGIN_FREE_FAILURES: '2' });
});
afterAll(() => api.close());

/** Enrols TOTP for the user through the API; returns the secret and the recovery codes. */
async function enrol(jwt: string) {
  const started = await client(api, jwt).post('/api/v1/me/mfa/totp', { currentPassword: PASSWORD });
  expect(started.status).toBe(200);
  expect(started.body.qrCode).toMatch(/^data:image\/png;base64,/);
  expect(started.body.otpauthUrl).toMatch(/^otpauth:\/\/totp\/OpsSight:/);
  const secret = started.body.secret as string;
  const verified = await client(api, jwt).post('/api/v1/me/mfa/totp/verify', { code: await generate({ secret }) });
  expect(verified.status).toBe(200);
  return { secret, recoveryCodes: verified.body.recoveryCodes as string[] };
}

const login = (email: string, mfaCode?: string) => client(api).post('/api/v1/auth/login', { email, password: PASSWORD, ...(mfaCode ? { mfaCode } : {}) });

describe('TOTP MFA', () => {
  it('a wrong first code does not enrol', async () => {
    const user = await createUser(api.deps.db.em);
    const jwt = await tokenFor(api, user.id);
    expect((await client(api, jwt).post('/api/v1/me/mfa/totp', { currentPassword: PASSWORD })).status).toBe(200);
    const res = await client(api, jwt).post('/api/v1/me/mfa/totp/verify', { code: '000000' });
    expect(res.status).toBe(403);
    expect(res.body.errors).toEqual([{ field: 'code', message: 'does not match' }]);
    expect((await client(api, jwt).get('/api/v1/me/mfa')).body).toEqual({ enrolled: false, recoveryCodesLeft: 0 });
    expect((await login(user.email)).status).toBe(200);
  });

  it('once enrolled, sign-in needs the code; a code works once; a recovery code works once', async () => {
    const user = await createUser(api.deps.db.em);
    const { recoveryCodes } = await enrol(await tokenFor(api, user.id));
    expect(recoveryCodes).toHaveLength(10);
    expect(new Set(recoveryCodes).size).toBe(10);

    const without = await login(user.email);
    expect(without.status).toBe(401);
    expect(without.body.mfaRequired).toBe(true);
    expect((await login(user.email, '123456')).status).toBe(401);

    // The code that verified the enrolment was spent then: the same time step is never accepted again.
    const rows = await api.deps.db.em.fork().getConnection().execute<{ recovery_codes: { hash: string }[] }[]>('select recovery_codes from user_mfa where user_id = ?', [user.id]);
    expect(JSON.stringify(rows)).not.toContain(recoveryCodes[0]!);

    const recovery = recoveryCodes[3]!;
    expect((await login(user.email, recovery)).status).toBe(200);
    const again = await login(user.email, recovery);
    expect(again.status).toBe(401);
    expect(again.body.detail).toBe('invalid second factor');
    const session = (await login(user.email, recoveryCodes[4]!)).body.accessToken as string;
    expect((await client(api, session).get('/api/v1/me/mfa')).body).toEqual({ enrolled: true, recoveryCodesLeft: 8 });
  });

  it('a team requiring MFA lets a member without it read, not act, and says why', async () => {
    const team = await createTeam(api.deps.db.em, undefined, { requireMfa: true } as never);
    const user = await createUser(api.deps.db.em, { teams: [team], role: 'operator' });
    const jwt = (await login(user.email)).body.accessToken as string;
    expect((await client(api, jwt).get('/api/v1/runs')).status).toBe(200);
    const start = () => client(api, jwt).post('/api/v1/runs', { kind: 'terraform', team: team.slug, params: { workspace: 'mfa', files: simpleConfig() } });
    const refused = await start();
    expect(refused.status).toBe(403);
    expect(refused.body.detail).toMatch(/requires multi-factor authentication: enrol a second factor/);
    expect(refused.body.errors).toEqual([{ field: 'mfa', message: 'not enrolled' }]);
    await enrol(jwt);
    expect((await start()).status).toBe(201);
  });

  it('enrolling or removing a factor asks for the password again; wrong passwords and codes count as failed logins', async () => {
    const user = await createUser(api.deps.db.em);
    const jwt = await tokenFor(api, user.id);
    const pending = async () => (await api.deps.db.em.fork().getConnection().execute('select 1 from user_mfa where user_id = ?', [user.id])).length;
    const start = (body: object) => client(api, jwt).post('/api/v1/me/mfa/totp', body);

    const bare = await start({});
    expect([bare.status, bare.body.errors]).toEqual([403, [{ field: 'currentPassword', message: 'required' }]]);
    const wrong = await start({ currentPassword: 'not the password at all' });
    expect([wrong.status, wrong.body.errors]).toEqual([403, [{ field: 'currentPassword', message: 'does not match' }]]);
    expect(await pending()).toBe(0);
    // Each wrong password is a guess at the account: after the free ones the account is locked, sign-in included.
    expect(await guessUntilLocked(() => start({ currentPassword: 'still not the password' }))).toBe(true);
    expect((await login(user.email)).status).toBe(429);
    expect(await pending()).toBe(0);
  });

  it('a wrong code when removing the factor is a counted guess, and a right one removes it', async () => {
    const user = await createUser(api.deps.db.em);
    const jwt = await tokenFor(api, user.id);
    const { recoveryCodes } = await enrol(jwt);
    const disable = (body: object) => client(api, jwt).post('/api/v1/me/mfa/disable', body);
    expect((await disable({ code: recoveryCodes[0]! })).body.errors).toEqual([{ field: 'currentPassword', message: 'required' }]);
    const wrongCode = await disable({ code: '999999', currentPassword: PASSWORD });
    expect([wrongCode.status, wrongCode.body.errors]).toEqual([403, [{ field: 'code', message: 'does not match' }]]);
    expect(await guessUntilLocked(() => disable({ code: '999999', currentPassword: PASSWORD }))).toBe(true);
    expect((await login(user.email, recoveryCodes[1]!)).status).toBe(429);
    expect((await client(api, jwt).get('/api/v1/me/mfa')).body.enrolled).toBe(true);

    const other = await createUser(api.deps.db.em);
    const otherJwt = await tokenFor(api, other.id);
    const codes = (await enrol(otherJwt)).recoveryCodes;
    expect((await client(api, otherJwt).post('/api/v1/me/mfa/disable', { code: codes[0]!, currentPassword: PASSWORD })).status).toBe(204);
    expect((await login(other.email)).status).toBe(200);
  });
});

/** Repeats a wrong guess until the account's lockout answers 429 (true), or gives up after twelve. */
async function guessUntilLocked(guess: () => Promise<{ status: number }>): Promise<boolean> {
  for (let i = 0; i < 12; i++) {
    const res = await guess();
    if (res.status === 429) return true;
    expect(res.status).toBe(403);
  }
  return false;
}
