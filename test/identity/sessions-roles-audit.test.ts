import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { client, tokenFor } from '../fixtures/http.ts';
import { createTeam, createUser, PASSWORD } from '../fixtures/users.ts';
import { ownRedisKeys, startApi, type TestApi } from '../peers/stack.ts';

let api: TestApi;
let admin: string;
beforeAll(async () => {
  api = await startApi(ownRedisKeys('identity-sra'));
  admin = await tokenFor(api, (await createUser(api.deps.db.em, { role: 'platform-admin' })).id);
});
afterAll(() => api.close());

const login = (email: string, userAgent: string) =>
  client(api).post('/api/v1/auth/login', { email, password: PASSWORD }, { 'user-agent': userAgent }).then((r) => r.body as { accessToken: string; refreshToken: string });

describe('sessions', () => {
  it('lists mine with user agent, address and last use; ends one, or all the others', async () => {
    const user = await createUser(api.deps.db.em);
    const laptop = await login(user.email, 'laptop-browser/1.0');
    const phone = await login(user.email, 'phone-browser/2.0');
    const ci = await login(user.email, 'curl/8');
    const listed = await client(api, laptop.accessToken).get('/api/v1/me/sessions');
    expect(listed.status).toBe(200);
    expect(listed.body.items).toHaveLength(3);
    expect(listed.body.items.map((s: { userAgent: string }) => s.userAgent).sort()).toEqual(['curl/8', 'laptop-browser/1.0', 'phone-browser/2.0']);
    const mine = listed.body.items.find((s: { current: boolean }) => s.current);
    expect(mine).toMatchObject({ userAgent: 'laptop-browser/1.0', ip: '127.0.0.1', lastUsedAt: expect.any(String) });

    const phoneId = listed.body.items.find((s: { userAgent: string }) => s.userAgent === 'phone-browser/2.0').id;
    expect((await client(api, laptop.accessToken).del(`/api/v1/me/sessions/${phoneId}`)).status).toBe(204);
    expect((await client(api, phone.accessToken).get('/api/v1/me')).status).toBe(401);
    expect((await client(api).post('/api/v1/auth/refresh', { refreshToken: phone.refreshToken })).status).toBe(401);

    // Someone else's session is not found for me.
    const other = await createUser(api.deps.db.em);
    const otherSession = await login(other.email, 'x');
    const otherId = (await client(api, otherSession.accessToken).get('/api/v1/me/sessions')).body.items[0].id;
    expect((await client(api, laptop.accessToken).del(`/api/v1/me/sessions/${otherId}`)).status).toBe(404);
    expect((await client(api, otherSession.accessToken).get('/api/v1/me')).status).toBe(200);

    expect((await client(api, laptop.accessToken).del('/api/v1/me/sessions')).status).toBe(204);
    expect((await client(api, ci.accessToken).get('/api/v1/me')).status).toBe(401);
    expect((await client(api, laptop.accessToken).get('/api/v1/me/sessions')).body.items).toHaveLength(1);
  });

  it('an admin lists and ends a user’s sessions; others may not', async () => {
    const user = await createUser(api.deps.db.em);
    const s = await login(user.email, 'ua');
    expect((await client(api, s.accessToken).get(`/api/v1/users/${user.id}/sessions`)).status).toBe(403);
    expect((await client(api, admin).get(`/api/v1/users/${user.id}/sessions`)).body.items).toHaveLength(1);
    expect((await client(api, admin).del(`/api/v1/users/${user.id}/sessions`)).status).toBe(204);
    expect((await client(api, s.accessToken).get('/api/v1/me')).status).toBe(401);
    const audit = await client(api, admin).get(`/api/v1/audit?action=session.revoke_all&resourceId=${user.id}`);
    expect(audit.body.items).toEqual([expect.objectContaining({ action: 'session.revoke_all', resourceType: 'user', data: { sessions: 1, keptCurrent: false } })]);
  });
});

describe('custom roles', () => {
  it('define, assign per membership, show as effective permissions, change within a second; every change audited', async () => {
    const team = await createTeam(api.deps.db.em);
    const user = await createUser(api.deps.db.em, { teams: [team], role: 'viewer' });
    const jwt = await tokenFor(api, user.id);
    const name = `deployer-${crypto.randomUUID().slice(0, 6)}`;
    expect((await client(api, jwt).post('/api/v1/roles', { name, permissions: ['runs:read'] })).status).toBe(403);
    const bad = await client(api, admin).post('/api/v1/roles', { name, permissions: ['runs:read', 'runs:start:nope'] });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].field).toBe('permissions.1');
    const created = await client(api, admin).post('/api/v1/roles', { name, permissions: ['runs:read', 'runs:start:terraform', 'runs:approve:terraform'], approvalTargets: ['prod'] });
    expect(created.status).toBe(201);
    expect((await client(api, admin).post('/api/v1/roles', { name, permissions: ['runs:read'] })).status).toBe(409);
    const roles = (await client(api, jwt).get('/api/v1/roles')).body.items as { name: string; builtIn: boolean }[];
    expect(roles.filter((r) => r.builtIn).map((r) => r.name)).toEqual(['viewer', 'operator', 'approver', 'admin']);
    expect(roles.some((r) => r.name === name)).toBe(true);
    const catalogue = (await client(api, jwt).get('/api/v1/permissions')).body.items.map((p: { permission: string }) => p.permission);
    expect(catalogue).toEqual(expect.arrayContaining(['runs:read', 'runs:start:terraform', 'runs:approve:terraform', 'team:manage']));

    const assigned = await client(api, admin).put(`/api/v1/teams/${team.slug}/members/${user.id}/role`, { roleId: created.body.id });
    expect(assigned.status).toBe(200);
    expect((await client(api, jwt).get('/api/v1/me')).body.teams[0].permissions).toEqual(['runs:approve:terraform', 'runs:read', 'runs:start:terraform']);
    const effective = await client(api, admin).get(`/api/v1/users/${user.id}/permissions`);
    expect(effective.body.teams).toEqual([
      { id: team.id, slug: team.slug, role: 'viewer', customRole: { id: created.body.id, name }, permissions: ['runs:approve:terraform', 'runs:read', 'runs:start:terraform'], approvalTargets: ['prod'], blockedByMfa: false },
    ]);
    expect((await client(api, jwt).get(`/api/v1/users/${user.id}/permissions`)).status).toBe(200);

    expect((await client(api, admin).patch(`/api/v1/roles/${created.body.id}`, { permissions: ['runs:read'] })).status).toBe(200);
    expect((await client(api, jwt).get('/api/v1/me')).body.teams[0].permissions).toEqual(['runs:read']);
    expect((await client(api, admin).del(`/api/v1/roles/${created.body.id}`)).status).toBe(204);
    expect((await client(api, jwt).get('/api/v1/me')).body.teams[0]).toMatchObject({ role: 'viewer', permissions: ['runs:read'] });

    const audit = await client(api, admin).get(`/api/v1/audit?action=role.&resourceId=${created.body.id}`);
    expect(audit.body.items.map((e: { action: string }) => e.action)).toEqual(['role.delete', 'role.update', 'role.create']);
    const assignAudit = await client(api, admin).get(`/api/v1/audit?action=member.role.assign&teamId=${team.id}`);
    expect(assignAudit.body.items).toHaveLength(1);
  });
});

describe('audit log', () => {
  it('pages by cursor without gaps or repeats, and is for admins (team admins: their team)', async () => {
    const team = await createTeam(api.deps.db.em);
    const teamAdmin = await tokenFor(api, (await createUser(api.deps.db.em, { teams: [team], role: 'admin' })).id);
    for (const fourEyes of [true, false, true, false, true]) {
      expect((await client(api, teamAdmin).patch(`/api/v1/teams/${team.slug}/settings`, { fourEyes })).status).toBe(200);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await client(api, admin).get(`/api/v1/audit?teamId=${team.id}&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      seen.push(...page.body.items.map((e: { id: string }) => e.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(5);
    expect(new Set(seen).size).toBe(5);
    expect([...seen].sort((x, y) => Number(y) - Number(x))).toEqual(seen);

    expect((await client(api, teamAdmin).get(`/api/v1/audit?teamId=${team.id}`)).body.items).toHaveLength(5);
    // A cursor past the largest id there can be is the caller's mistake, named, not a database error.
    const beyond = await client(api, teamAdmin).get(`/api/v1/audit?teamId=${team.id}&cursor=9999999999999999999`);
    expect([beyond.status, beyond.body.errors?.[0]?.field]).toEqual([400, 'cursor']);
    const refused = await client(api, teamAdmin).get('/api/v1/audit');
    expect(refused.status).toBe(403);
    expect(refused.body.errors[0].field).toBe('teamId');
    expect((await client(api, admin).get('/api/v1/audit?cursor=abc')).status).toBe(400);
    const until = new Date(Date.now() - 3_600_000).toISOString();
    expect((await client(api, admin).get(`/api/v1/audit?teamId=${team.id}&until=${until}`)).body.items).toEqual([]);
  });
});
