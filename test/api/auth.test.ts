import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AuditLogSchema, RefreshFamilySchema, RefreshTokenSchema } from '../../db/entities/index.ts';
import { createTokenService } from '../../core/tokens.ts';
import { createRefreshFamilyRow, createRefreshTokenRow } from '../../db/repositories/refresh-tokens.ts';
import { client, sessionFor } from '../fixtures/http.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { startApi, type TestApi } from '../peers/stack.ts';

let api: TestApi;
beforeAll(async () => {
  api = await startApi();
});
afterAll(() => api.close());

const login = (email: string, password: string) => client(api).post('/api/v1/auth/login', { email, password });
const refresh = (refreshToken: unknown) => client(api).post('/api/v1/auth/refresh', { refreshToken });
const me = (token: string) => client(api, token).get('/api/v1/me');
type Res = Awaited<ReturnType<typeof login>>;
const tokensOf = (r: Res) => r.body as { accessToken: string; refreshToken: string; expiresIn: number };
const em = () => api.deps.db.em.fork();

describe('login', () => {
  it('returns an access token, a refresh token and the user; /me lists teams, roles and permissions', async () => {
    const team = await createTeam(api.deps.db.em);
    const user = await createUser(api.deps.db.em, { teams: [team], role: 'approver' });
    const res = await login(user.email.toUpperCase(), user.password);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ tokenType: 'Bearer', expiresIn: api.config.ACCESS_TOKEN_TTL_SECONDS, user: { id: user.id, email: user.email, isAdmin: false } });
    const { accessToken, refreshToken } = tokensOf(res);
    expect(accessToken.split('.')).toHaveLength(3);
    expect(refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const who = await me(accessToken);
    expect(who.status).toBe(200);
    expect(who.body.user).toMatchObject({ id: user.id });
    expect(who.body.teams).toEqual([
      { id: team.id, slug: team.slug, name: team.slug, role: 'approver', permissions: ['runs:read', 'runs:start:*', 'runs:cancel', 'alerts:ack', 'runs:approve'] },
    ]);
    const audit = await em().find(AuditLogSchema, { action: 'auth.login', actorId: user.id });
    expect(audit).toHaveLength(1);
    // Only the hash of the refresh token is stored.
    const rows = await em().find(RefreshTokenSchema, { user: user.id });
    expect(rows).toHaveLength(1);
    expect(rows[0]!.tokenHash).not.toContain(refreshToken);
    expect(rows[0]!.tokenHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('answers a wrong password and an unknown email with the same 401', async () => {
    const user = await createUser(api.deps.db.em);
    const wrong = await login(user.email, 'not the password');
    const unknown = await login(`nobody-${crypto.randomUUID()}@example.test`, 'whatever');
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(wrong.body.detail).toBe('invalid email or password');
    expect(unknown.body.detail).toBe(wrong.body.detail);
    expect(wrong.body).not.toHaveProperty('accessToken');
  });

  it('names each invalid field', async () => {
    const res = await client(api).post('/api/v1/auth/login', { email: 'not-an-email' });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['email', 'password']);
  });
});

describe('refresh', () => {
  it('rotates: each refresh token works once and yields a new pair in the same family', async () => {
    const user = await createUser(api.deps.db.em);
    const first = tokensOf(await login(user.email, user.password));
    const second = await refresh(first.refreshToken);
    expect(second.status).toBe(200);
    const pair = tokensOf(second);
    expect(pair.refreshToken).not.toBe(first.refreshToken);
    expect((await me(pair.accessToken)).status).toBe(200);
    const third = await refresh(pair.refreshToken);
    expect(third.status).toBe(200);

    const rows = await em().find(RefreshTokenSchema, { user: user.id }, { orderBy: { createdAt: 'asc' } });
    expect(rows).toHaveLength(3);
    expect(new Set(rows.map((r) => r.family)).size).toBe(1);
    expect(rows.map((r) => r.usedAt !== null)).toEqual([true, true, false]);
  });

  it('treats reuse as theft: the whole family is revoked, refresh tokens and access tokens alike', async () => {
    const user = await createUser(api.deps.db.em);
    const first = tokensOf(await login(user.email, user.password));
    const other = tokensOf(await login(user.email, user.password)); // a second, unrelated session
    const second = tokensOf(await refresh(first.refreshToken));
    expect((await me(second.accessToken)).status).toBe(200);

    const replay = await refresh(first.refreshToken);
    expect(replay.status).toBe(401);
    expect(replay.body.detail).toMatch(/already used/);
    const revoked = await refresh(second.refreshToken);
    expect(revoked.status).toBe(401);
    expect(revoked.body.detail).toBe('refresh token revoked');
    expect((await me(second.accessToken)).status).toBe(401);
    expect((await me(first.accessToken)).status).toBe(401);

    const rows = await em().find(RefreshTokenSchema, { user: user.id });
    const family = rows.find((r) => r.usedAt !== null)!.family;
    expect(rows.filter((r) => r.family === family).every((r) => r.revokedAt !== null)).toBe(true);
    expect(await em().count(AuditLogSchema, { action: 'auth.refresh_reuse', resourceId: family })).toBe(1);
    // The other session is untouched.
    expect((await me(other.accessToken)).status).toBe(200);
    expect((await refresh(other.refreshToken)).status).toBe(200);
  });

  it('lets exactly one of two concurrent refreshes with the same token win, and the reuse ends the session, winner included', async () => {
    const user = await createUser(api.deps.db.em);
    const { refreshToken } = tokensOf(await login(user.email, user.password));
    const results = await Promise.all([refresh(refreshToken), refresh(refreshToken)]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 401]);
    // Before, the winner's new refresh token went on rotating: the family was revoked before it was written.
    const winner = tokensOf(results.find((r) => r.status === 200)!);
    expect((await refresh(winner.refreshToken)).status).toBe(401);
    expect((await me(winner.accessToken)).status).toBe(401);
  });

  it('has at most one winner among many concurrent refreshes, and then none of them works', async () => {
    const user = await createUser(api.deps.db.em);
    const { refreshToken } = tokensOf(await login(user.email, user.password));
    const results = await Promise.all(Array.from({ length: 6 }, () => refresh(refreshToken)));
    expect(results.filter((r) => r.status === 200).length).toBeLessThanOrEqual(1);
    expect(results.every((r) => r.status === 200 || r.status === 401)).toBe(true);
    for (const r of results.filter((x) => x.status === 200)) {
      expect((await refresh(tokensOf(r).refreshToken)).status).toBe(401);
      expect((await me(tokensOf(r).accessToken)).status).toBe(401);
    }
    const rows = await em().find(RefreshTokenSchema, { user: user.id });
    expect(rows.every((r) => r.revokedAt !== null)).toBe(true);
  });

  it('keeps a reused session revoked for good, with nothing of it left in Redis', async () => {
    const user = await createUser(api.deps.db.em);
    const first = tokensOf(await login(user.email, user.password));
    const second = tokensOf(await refresh(first.refreshToken));
    expect((await refresh(first.refreshToken)).status).toBe(401); // the replay
    // Another API instance with a Redis prefix of its own sees no Redis state of the first: what it
    // refuses, it refuses from PostgreSQL (before, the family came back once a Redis marker expired).
    const fresh = await startApi({ REDIS_PREFIX: `opssight-test:fresh-${crypto.randomUUID()}:` });
    try {
      expect((await client(fresh, second.accessToken).get('/api/v1/me')).status).toBe(401);
      expect((await client(fresh).post('/api/v1/auth/refresh', { refreshToken: second.refreshToken })).status).toBe(401);
      expect((await client(fresh).post('/api/v1/auth/refresh', { refreshToken: first.refreshToken })).status).toBe(401);
    } finally {
      await fresh.close();
    }
  });

  it('refuses unknown and malformed refresh tokens', async () => {
    expect((await refresh('A'.repeat(43))).status).toBe(401);
    const bad = await refresh(42);
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([expect.objectContaining({ field: 'refreshToken' })]);
  });
});

describe('expired refresh tokens', () => {
  /** A refresh-token row as the session service writes it, expiring at `expiresAt`. */
  async function row(userId: string, family: string, expiresAt: Date): Promise<string> {
    const fork = em();
    if (!(await fork.findOne(RefreshFamilySchema, { id: family }))) createRefreshFamilyRow(fork, { id: family, userId });
    const created = createRefreshTokenRow(fork, { userId, family, tokenHash: randomBytes(32).toString('hex'), expiresAt });
    await fork.flush();
    return created.id;
  }
  const ids = async (userId: string) => (await em().find(RefreshTokenSchema, { user: userId })).map((r) => r.id);
  const past = () => new Date(Date.now() - 60_000);

  it('are deleted when their user logs in; live ones stay', async () => {
    const user = await createUser(api.deps.db.em);
    const expired = [await row(user.id, crypto.randomUUID(), past()), await row(user.id, crypto.randomUUID(), past())];
    const live = await row(user.id, crypto.randomUUID(), new Date(Date.now() + 3_600_000));
    const other = await createUser(api.deps.db.em);
    const othersExpired = await row(other.id, crypto.randomUUID(), past());

    expect((await login(user.email, user.password)).status).toBe(200);
    const left = await ids(user.id);
    expect(left).toHaveLength(2); // the live row and the new login's
    expect(left).toContain(live);
    for (const id of expired) expect(left).not.toContain(id);
    // Their sessions, left with no token, go too.
    expect(await em().count(RefreshFamilySchema, { user: user.id })).toBe(2);
    expect(await ids(other.id)).toEqual([othersExpired]);
  });

  it('are deleted from the family a refresh rotates', async () => {
    const user = await createUser(api.deps.db.em);
    const first = tokensOf(await login(user.email, user.password));
    const { family } = await em().findOneOrFail(RefreshTokenSchema, { user: user.id });
    const stale = await row(user.id, family, past());
    expect((await refresh(first.refreshToken)).status).toBe(200);
    expect(await ids(user.id)).not.toContain(stale);
    expect(await ids(user.id)).toHaveLength(2);
  });
});

describe('logout', () => {
  it('revokes the access token and the session it belongs to', async () => {
    const user = await createUser(api.deps.db.em);
    const pair = tokensOf(await login(user.email, user.password));
    const out = await client(api, pair.accessToken).post('/api/v1/auth/logout');
    expect(out.status).toBe(204);
    const after = await me(pair.accessToken);
    expect(after.status).toBe(401);
    expect(after.body.detail).toBe('access token revoked');
    expect((await refresh(pair.refreshToken)).status).toBe(401);
    expect(await em().count(AuditLogSchema, { action: 'auth.logout', actorId: user.id })).toBe(1);
  });

  it('requires a token', async () => {
    expect((await client(api).post('/api/v1/auth/logout')).status).toBe(401);
  });
});

describe('access tokens', () => {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');

  it('refuses expired, garbage, unsigned (alg none) and foreign-key tokens with 401', async () => {
    const user = await createUser(api.deps.db.em);
    const { family } = await sessionFor(api, user.id);
    const expired = await createTokenService({ secret: api.config.JWT_SECRET, ttlSeconds: -60 }).signAccess(user.id, family);
    const foreign = await createTokenService({ secret: 'x'.repeat(40), ttlSeconds: 60 }).signAccess(user.id, family);
    const valid = await api.deps.tokens.signAccess(user.id, family);
    const [, payload] = valid.token.split('.');
    const algNone = `${b64({ alg: 'none', typ: 'JWT' })}.${payload}.`;

    expect((await me(valid.token)).status).toBe(200);
    const exp = await me(expired.token);
    expect(exp.status).toBe(401);
    expect(exp.body.detail).toBe('access token expired');
    for (const token of ['garbage', 'a.b.c', algNone, foreign.token]) {
      const res = await me(token);
      expect(res.status).toBe(401);
      expect(res.body.detail).toBe('invalid access token');
    }
    const none = await fetch(`${api.baseUrl}/api/v1/me`);
    expect(none.status).toBe(401);
  });
});
