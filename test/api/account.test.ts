import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AuditLogSchema, RefreshTokenSchema, UserSchema } from '../../db/entities/index.ts';
import { client, tokenFor } from '../fixtures/http.ts';
import { createUser, PASSWORD } from '../fixtures/users.ts';
import { startApi, type TestApi } from '../peers/stack.ts';

let api: TestApi;
let admin: { id: string; token: string };
beforeAll(async () => {
  api = await startApi();
  const user = await createUser(api.deps.db.em, { role: 'platform-admin' });
  admin = { id: user.id, token: await tokenFor(api, user.id) };
});
afterAll(() => api.close());

const em = () => api.deps.db.em.fork();
type Session = { accessToken: string; refreshToken: string };
async function login(email: string, password = PASSWORD): Promise<Session> {
  const res = await client(api).post('/api/v1/auth/login', { email, password });
  expect(res.status).toBe(200);
  return res.body as Session;
}
const me = (token: string) => client(api, token).get('/api/v1/me');
const refresh = (refreshToken: string) => client(api).post('/api/v1/auth/refresh', { refreshToken });
const patchUser = (id: string, body: unknown, token = admin.token) => call(token, 'PATCH', `/api/v1/users/${id}`, body);

/** The fixture client has no PATCH. */
async function call(token: string, method: string, path: string, body: unknown) {
  const res = await fetch(`${api.baseUrl}${path}`, { method, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

describe('PATCH /api/v1/users/:id', () => {
  it('renames and (un)makes platform admins, audited with what changed', async () => {
    const user = await createUser(api.deps.db.em);
    const res = await patchUser(user.id, { name: 'Renamed Person', isAdmin: true });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: user.id, email: user.email, name: 'Renamed Person', isAdmin: true, disabled: false });
    expect((await me(await tokenFor(api, user.id))).body.user).toMatchObject({ name: 'Renamed Person', isAdmin: true });
    const audit = await em().findOneOrFail(AuditLogSchema, { action: 'user.update', resourceId: user.id });
    expect(audit.actorId).toBe(admin.id);
    expect(audit.data).toEqual({ changes: { name: { from: user.email.split('@')[0], to: 'Renamed Person' }, isAdmin: { from: false, to: true } } });
  });

  it('disabling ends every session: access tokens, refresh tokens and new logins are refused', async () => {
    const user = await createUser(api.deps.db.em);
    const [one, two] = [await login(user.email), await login(user.email)];
    const bare = await tokenFor(api, user.id); // a session made without the password, ended alike
    const res = await patchUser(user.id, { disabled: true });
    expect(res.status).toBe(200);
    expect(res.body.disabled).toBe(true);

    for (const token of [one.accessToken, two.accessToken, bare]) expect((await me(token)).status).toBe(401);
    for (const token of [one.refreshToken, two.refreshToken]) expect((await refresh(token)).status).toBe(401);
    const again = await client(api).post('/api/v1/auth/login', { email: user.email, password: PASSWORD });
    expect(again.status).toBe(401);
    const rows = await em().find(RefreshTokenSchema, { user: user.id });
    expect(rows.length).toBeGreaterThanOrEqual(2);
    expect(rows.every((r) => r.revokedAt !== null)).toBe(true);
    // Revoked for good in PostgreSQL, which every request (and every open socket) checks.
    for (const family of new Set(rows.map((r) => r.family))) expect(await api.deps.sessions.isLive(em(), family)).toBe(false);
    const audit = await em().findOneOrFail(AuditLogSchema, { action: 'user.update', resourceId: user.id });
    expect(audit.data).toEqual({ changes: { disabled: { from: false, to: true } }, revokedSessions: 3, revokedApiTokens: 0 });

    // Re-enabled: they sign in afresh; the ended sessions stay ended.
    expect((await patchUser(user.id, { disabled: false })).body.disabled).toBe(false);
    expect((await me((await login(user.email)).accessToken)).status).toBe(200);
    expect((await refresh(one.refreshToken)).status).toBe(401);
  });

  it('validates, is for platform admins only, and refuses to lock the caller out', async () => {
    const user = await createUser(api.deps.db.em);
    const audits = () => em().count(AuditLogSchema, { action: 'user.update', resourceId: { $in: [user.id, admin.id] } });
    const before = await audits();
    const empty = await patchUser(user.id, {});
    expect(empty.status).toBe(400);
    expect(empty.body.errors).toEqual([{ field: '(body)', message: 'give at least one of name, disabled, isAdmin, password, removeMfa' }]);
    const bad = await patchUser(user.id, { name: ' ', disabled: 'yes', isAdmin: 1 });
    expect(bad.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['disabled', 'isAdmin', 'name']);
    expect((await patchUser('not-a-uuid', { name: 'x' })).body.errors).toEqual([expect.objectContaining({ field: 'id' })]);
    expect((await patchUser(crypto.randomUUID(), { name: 'x' })).status).toBe(404);
    expect((await patchUser(user.id, { isAdmin: true }, await tokenFor(api, user.id))).status).toBe(403);
    const self = await patchUser(admin.id, { disabled: true });
    expect(self.status).toBe(409);
    expect(self.body.errors).toEqual([{ field: 'disabled', message: 'not on your own account' }]);
    expect((await patchUser(admin.id, { isAdmin: false })).status).toBe(409);
    expect(await audits()).toBe(before);
    expect(await em().findOneOrFail(UserSchema, { id: admin.id })).toMatchObject({ isAdmin: true, disabled: false });
  });
});

describe('POST /api/v1/auth/password', () => {
  const NEW = 'a brand new passphrase';
  const change = (token: string, body: unknown) => client(api, token).post('/api/v1/auth/password', body);

  it('changes the password after proving the current one; every other session ends, this one stays', async () => {
    const user = await createUser(api.deps.db.em);
    const [mine, other] = [await login(user.email), await login(user.email)];
    const res = await change(mine.accessToken, { currentPassword: PASSWORD, newPassword: NEW });
    expect(res.status).toBe(204);

    expect((await me(mine.accessToken)).status).toBe(200);
    expect((await refresh(mine.refreshToken)).status).toBe(200);
    expect((await me(other.accessToken)).status).toBe(401);
    expect((await refresh(other.refreshToken)).status).toBe(401);
    expect((await client(api).post('/api/v1/auth/login', { email: user.email, password: PASSWORD })).status).toBe(401);
    await login(user.email, NEW);

    const audit = await em().findOneOrFail(AuditLogSchema, { action: 'auth.password_change', resourceId: user.id });
    expect(audit).toMatchObject({ actorId: user.id, data: { revokedSessions: 1 } });
    expect(JSON.stringify(audit)).not.toContain(NEW);
    expect(JSON.stringify(res.body)).not.toContain(NEW);
  });

  it('refuses a wrong current password, a short or unchanged new one, and anonymous callers, changing nothing', async () => {
    const user = await createUser(api.deps.db.em);
    const { accessToken } = await login(user.email);
    // Authenticated but not proven: 403 (a 401 would read as "signed out"), counted as a failed guess.
    const wrong = await change(accessToken, { currentPassword: 'not my password', newPassword: NEW });
    expect(wrong.status).toBe(403);
    expect(wrong.body.errors).toEqual([{ field: 'currentPassword', message: 'does not match' }]);
    const short = await change(accessToken, { currentPassword: PASSWORD, newPassword: 'too short' });
    expect(short.body.errors).toEqual([{ field: 'newPassword', message: 'at least 12 characters' }]);
    const same = await change(accessToken, { currentPassword: PASSWORD, newPassword: PASSWORD });
    expect(same.body.errors).toEqual([{ field: 'newPassword', message: 'must differ from the current password' }]);
    expect((await client(api).post('/api/v1/auth/password', { currentPassword: PASSWORD, newPassword: NEW })).status).toBe(401);

    expect((await me(accessToken)).status).toBe(200);
    await login(user.email, PASSWORD);
    expect(await em().count(AuditLogSchema, { action: 'auth.password_change', resourceId: user.id })).toBe(0);
  });
});
