import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { hashApiToken } from '../../core/api-tokens.ts';
import { cacheTags } from '../../core/cache/tags.ts';
import { client, tokenFor } from '../fixtures/http.ts';
import { createRunRow } from '../fixtures/runs.ts';
import { endedSessions } from '../../db/repositories/api-tokens.ts';
import { findRun } from '../../db/repositories/runs.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { connectWs } from '../fixtures/ws.ts';
import { startApi, type TestApi } from '../peers/stack.ts';

// Two API processes, as behind a load balancer: tokens are made and revoked on `a`, used on `b`.
let a: TestApi;
let b: TestApi;
let team: { id: string; slug: string };
let operator: { id: string; email: string };
let operatorJwt: string;

beforeAll(async () => {
  [a, b] = await Promise.all([startApi({ WS_PING_INTERVAL_MS: '60000' }), startApi({ WS_PING_INTERVAL_MS: '60000' })]);
  const runId = await createRunRow(a.deps.db.em);
  const t = (await findRun(a.deps.db.em.fork(), runId))!.team as unknown as { id: string; slug: string };
  team = { id: t.id, slug: t.slug };
  operator = await createUser(a.deps.db.em, { teams: [team], role: 'operator' });
  operatorJwt = await tokenFor(a, operator.id);
});
afterAll(() => Promise.all([a.close(), b.close()]));

const mint = async (jwt: string, body: Record<string, unknown>) => client(a, jwt).post('/api/v1/me/tokens', { name: 'ci', team: team.slug, ...body });

describe('API tokens', () => {
  it('are shown once, stored as a hash, and act as their creator in their team', async () => {
    const created = await mint(operatorJwt, { permissions: ['runs:read'], expiresInDays: 7 });
    expect(created.status).toBe(201);
    const token = created.body.token as string;
    expect(token).toMatch(/^osat_[A-Za-z0-9_-]{43}$/);
    const rows = await a.deps.db.em.fork().getConnection().execute<{ token_hash: string }[]>('select token_hash from api_tokens where id = ?', [created.body.id]);
    expect(rows[0]!.token_hash).toBe(hashApiToken(token));
    expect(JSON.stringify(rows)).not.toContain(token);
    const listed = await client(a, operatorJwt).get('/api/v1/me/tokens');
    expect(listed.body.items.find((t: { id: string }) => t.id === created.body.id)).toMatchObject({ prefix: token.slice(0, 11), permissions: ['runs:read'], lastUsedAt: null });
    expect(JSON.stringify(listed.body)).not.toContain(token);

    const me = await client(b, token).get('/api/v1/me');
    expect(me.status).toBe(200);
    expect(me.body.user.id).toBe(operator.id);
    expect(me.body.teams).toEqual([expect.objectContaining({ slug: team.slug, permissions: ['runs:read'] })]);
    expect((await client(b, token).get('/api/v1/runs?limit=5')).status).toBe(200);
  });

  it('show nothing of their creator beyond their team: not the other tokens, the sessions, or the other teams\' roles', async () => {
    const other = await createTeam(a.deps.db.em);
    const creator = await createUser(a.deps.db.em, { teams: [team, other], role: 'operator' });
    const jwt = await tokenFor(a, creator.id);
    const token = (await mint(jwt, { permissions: ['runs:read'] })).body.token as string;
    await client(a, jwt).post('/api/v1/me/tokens', { name: 'elsewhere', team: other.slug, permissions: ['runs:read'] });
    for (const path of ['/api/v1/me/tokens', '/api/v1/me/sessions']) {
      const res = await client(b, token).get(path);
      expect(res.status).toBe(403);
      expect(res.body.detail).toMatch(/needs a signed-in user, not an API token/);
    }
    const seen = await client(b, token).get(`/api/v1/users/${creator.id}/permissions`);
    expect(seen.status).toBe(200);
    expect(seen.body.teams).toEqual([expect.objectContaining({ slug: team.slug, permissions: ['runs:read'] })]);
    // The person themself still sees everything of theirs.
    const own = await client(a, jwt).get(`/api/v1/users/${creator.id}/permissions`);
    expect(own.body.teams.map((t: { slug: string }) => t.slug).sort()).toEqual([team.slug, other.slug].sort());
    expect((await client(a, jwt).get('/api/v1/me/tokens')).body.items).toHaveLength(2);
  });

  it('hold at most what their creator holds in the team, and the answer names the permission', async () => {
    const res = await mint(operatorJwt, { permissions: ['runs:read', 'team:manage'] });
    expect(res.status).toBe(403);
    expect(res.body.errors).toEqual([{ field: 'permissions.1', message: 'not held by you in this team' }]);
    const wrongTeam = await client(a, operatorJwt).post('/api/v1/me/tokens', { name: 'x', team: 'no-such-team', permissions: ['runs:read'] });
    expect(wrongTeam.status).toBe(404);
    const bad = await mint(operatorJwt, { permissions: ['runs:fly'] });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].field).toBe('permissions.0');
    expect(await a.deps.db.em.fork().getConnection().execute('select 1 from api_tokens where name = ?', ['x'])).toEqual([]);
  });

  it('cannot mint tokens, and record their last use in batches', async () => {
    const token = (await mint(operatorJwt, { permissions: ['runs:read'] })).body;
    const again = await client(a, token.token).post('/api/v1/me/tokens', { name: 'y', team: team.slug, permissions: ['runs:read'] });
    expect(again.status).toBe(403);
    await a.deps.apiTokens.flush();
    const listed = await client(a, operatorJwt).get('/api/v1/me/tokens');
    expect(listed.body.items.find((t: { id: string }) => t.id === token.id).lastUsedAt).toEqual(expect.any(String));
  });

  it('revoked, stop working on every process within a second, and their sockets close', async () => {
    const token = (await mint(operatorJwt, { permissions: ['runs:read'] })).body;
    expect((await client(b, token.token).get('/api/v1/me')).status).toBe(200);
    const ws = await connectWs(b.wsUrl, token.token);
    ws.send({ op: 'subscribe', topic: 'runs' });
    await ws.waitFor(() => ws.messages.find((m) => m.op === 'subscribed'), 'subscribed');
    // The sockets' safety-net sweep asks PostgreSQL which sessions ended: a live token's has not.
    expect(await endedSessions(a.deps.db.em.fork(), [token.id])).toEqual([]);
    const closed = ws.closed.then((c) => ({ ...c, at: Date.now() }));
    expect((await client(a, operatorJwt).del(`/api/v1/me/tokens/${token.id}`)).status).toBe(204);
    const revokedAt = Date.now();
    const refused = await client(b, token.token).get('/api/v1/me');
    expect(refused.status).toBe(401);
    expect(Date.now() - revokedAt).toBeLessThan(1_000);
    expect(refused.body.detail).toBe('API token revoked');
    const c = await closed;
    expect(c.code).toBe(4001);
    expect(c.at - revokedAt).toBeLessThan(1_000);
    expect((await client(a, operatorJwt).del(`/api/v1/me/tokens/${token.id}`)).status).toBe(404);
    expect(await endedSessions(a.deps.db.em.fork(), [token.id])).toEqual([token.id]);
  });

  it('expired, are refused; unknown ones too', async () => {
    const token = (await mint(operatorJwt, { permissions: ['runs:read'] })).body;
    await a.deps.db.em.fork().getConnection().execute(`update api_tokens set expires_at = now() - interval '1 second' where id = ?`, [token.id]);
    await a.deps.cache.invalidate([cacheTags.session(token.id)]);
    const res = await client(a, token.token).get('/api/v1/me');
    expect(res.status).toBe(401);
    expect(res.body.detail).toBe('API token expired');
    expect((await client(a, `osat_${'x'.repeat(43)}`).get('/api/v1/me')).status).toBe(401);
  });

  it('lose what their creator loses: a creator removed from the team leaves the token nothing there', async () => {
    const user = await createUser(a.deps.db.em, { teams: [team], role: 'operator' });
    const token = (await mint(await tokenFor(a, user.id), { permissions: ['runs:read', 'runs:start:*'] })).body;
    expect((await client(b, token.token).get('/api/v1/me')).body.teams[0].permissions).toEqual(['runs:read', 'runs:start:*']);
    const admin = await tokenFor(a, (await createUser(a.deps.db.em, { role: 'platform-admin' })).id);
    expect((await client(a, admin).del(`/api/v1/teams/${team.slug}/members/${user.id}`)).status).toBe(204);
    expect((await client(b, token.token).get('/api/v1/me')).body.teams[0].permissions).toEqual([]);
  });
});
