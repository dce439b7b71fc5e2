import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AuditLogSchema, TeamSchema, UserSchema } from '../../db/entities/index.ts';
import { client } from '../fixtures/http.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { startApi, type TestApi } from '../peers/stack.ts';

let api: TestApi;
let admin: string;
beforeAll(async () => {
  api = await startApi();
  admin = await tokenFor(await createUser(api.deps.db.em, { role: 'platform-admin' }));
});
afterAll(() => api.close());

function call(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, token: string | null, body?: unknown) {
  const c = client(api, token ?? undefined);
  return method === 'GET' ? c.get(path) : method === 'POST' ? c.post(path, body) : method === 'PUT' ? c.put(path, body) : c.del(path);
}
async function tokenFor(user: { email: string; password: string }): Promise<string> {
  const res = await call('POST', '/api/v1/auth/login', null, { email: user.email, password: user.password });
  expect(res.status).toBe(200);
  return res.body.accessToken as string;
}
const em = () => api.deps.db.em.fork();
const tag = () => crypto.randomUUID().slice(0, 8);

describe('teams', () => {
  it('a platform admin creates a team, audited; a duplicate slug is 409', async () => {
    const slug = `ops-${tag()}`;
    const res = await call('POST', '/api/v1/teams', admin, { slug, name: 'Ops' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ slug, name: 'Ops', id: expect.any(String) });
    const audit = await em().findOneOrFail(AuditLogSchema, { action: 'team.create', resourceId: res.body.id as string });
    expect(audit).toMatchObject({ resourceType: 'team', teamId: res.body.id, data: { slug, name: 'Ops' } });
    expect(audit.actorEmail).toMatch(/@example\.test$/);

    const dup = await call('POST', '/api/v1/teams', admin, { slug, name: 'Again' });
    expect(dup.status).toBe(409);
    expect(dup.body.errors).toEqual([{ field: 'slug', message: 'already taken' }]);
    expect(await em().count(TeamSchema, { slug })).toBe(1);
  });

  it('refuses invalid input naming each field and writes nothing', async () => {
    const res = await call('POST', '/api/v1/teams', admin, { slug: 'Not A Slug!', name: '' });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['name', 'slug']);
    // Counted by slug: other test files create teams in the same database at the same time.
    const slug = `unwritten-${tag()}`;
    expect((await call('POST', '/api/v1/teams', admin, { slug, name: '' })).status).toBe(400);
    expect(await em().count(TeamSchema, { slug })).toBe(0);
    expect(await em().count(AuditLogSchema, { action: 'team.create', data: { slug } })).toBe(0);
  });

  it('is forbidden to everyone but platform admins; listing shows only the caller’s teams', async () => {
    const mine = await createTeam(api.deps.db.em);
    const theirs = await createTeam(api.deps.db.em);
    const teamAdmin = await tokenFor(await createUser(api.deps.db.em, { teams: [mine], role: 'admin' }));
    expect((await call('POST', '/api/v1/teams', teamAdmin, { slug: `x-${tag()}`, name: 'X' })).status).toBe(403);

    const listed = await call('GET', '/api/v1/teams', teamAdmin);
    expect(listed.body.items).toEqual([expect.objectContaining({ id: mine.id, slug: mine.slug, role: 'admin' })]);
    const all = await call('GET', '/api/v1/teams', admin);
    const slugs = all.body.items.map((t: { slug: string }) => t.slug);
    expect(slugs).toEqual(expect.arrayContaining([mine.slug, theirs.slug]));
  });
});

describe('users', () => {
  it('a platform admin creates a user whose first sign-in must set their own password; duplicates (any case) are 409', async () => {
    const email = `new-${tag()}@example.test`;
    const res = await call('POST', '/api/v1/users', admin, { email, name: 'New Person', password: 'a long enough password' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ email, name: 'New Person', isAdmin: false, disabled: false });
    expect(res.body).not.toHaveProperty('passwordHash');
    expect(await em().count(AuditLogSchema, { action: 'user.create', resourceId: res.body.id as string })).toBe(1);
    const audit = await em().findOneOrFail(AuditLogSchema, { action: 'user.create', resourceId: res.body.id as string });
    expect(JSON.stringify(audit.data)).not.toContain('a long enough password');

    // The password is right, and an admin chose it: the answer is "set your own", not a session.
    const first = await call('POST', '/api/v1/auth/login', null, { email, password: 'a long enough password' });
    expect([first.status, first.body.passwordChangeRequired]).toEqual([403, true]);
    const dup = await call('POST', '/api/v1/users', admin, { email: email.toUpperCase(), name: 'Twin', password: 'another long password' });
    expect(dup.status).toBe(409);
    expect(dup.body.errors).toEqual([{ field: 'email', message: 'already taken' }]);
  });

  it('validates each field and writes nothing', async () => {
    const res = await call('POST', '/api/v1/users', admin, { email: 'nope', name: ' ', password: 'short', isAdmin: 'yes' });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['email', 'isAdmin', 'name', 'password']);
    // Counted by email: other test files create users in the same database at the same time.
    const email = `unwritten-${tag()}@example.test`;
    expect((await call('POST', '/api/v1/users', admin, { email, name: 'Someone', password: 'short' })).status).toBe(400);
    expect(await em().count(UserSchema, { email })).toBe(0);
  });

  it('lists users in pages for admins only', async () => {
    const page1 = await call('GET', '/api/v1/users?limit=2', admin);
    expect(page1.status).toBe(200);
    expect(page1.body.items).toHaveLength(2);
    const page2 = await call('GET', `/api/v1/users?limit=2&cursor=${page1.body.nextCursor as string}`, admin);
    expect(page2.body.items[0].email > page1.body.items[1].email).toBe(true);
    expect((await call('GET', '/api/v1/users?limit=0', admin)).body.errors).toEqual([expect.objectContaining({ field: 'limit' })]);

    const plain = await tokenFor(await createUser(api.deps.db.em));
    expect((await call('GET', '/api/v1/users', plain)).status).toBe(403);
    expect((await call('POST', '/api/v1/users', plain, { email: `x-${tag()}@example.test`, name: 'x', password: 'long enough password' })).status).toBe(403);
    expect((await call('GET', '/api/v1/users', null)).status).toBe(401);
  });
});

describe('members', () => {
  it('a team admin adds, re-roles and removes members of their team, each change audited', async () => {
    const team = await createTeam(api.deps.db.em);
    const lead = await tokenFor(await createUser(api.deps.db.em, { teams: [team], role: 'admin' }));
    const joiner = await createUser(api.deps.db.em);
    const joinerToken = await tokenFor(joiner);
    const path = `/api/v1/teams/${team.slug}/members`;

    const added = await call('PUT', path, lead, { email: joiner.email, role: 'viewer' });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ userId: joiner.id, email: joiner.email, role: 'viewer' });
    expect((await call('GET', '/api/v1/me', joinerToken)).body.teams).toEqual([expect.objectContaining({ id: team.id, role: 'viewer' })]);

    const changed = await call('PUT', path, lead, { userId: joiner.id, role: 'approver' });
    expect(changed.status).toBe(200);
    expect(changed.body.role).toBe('approver');
    const members = await call('GET', path, joinerToken);
    expect(members.body.items.map((m: { userId: string; role: string }) => [m.userId, m.role])).toContainEqual([joiner.id, 'approver']);

    expect((await call('DELETE', `${path}/${joiner.id}`, lead)).status).toBe(204);
    expect((await call('DELETE', `${path}/${joiner.id}`, lead)).status).toBe(404);
    expect((await call('GET', '/api/v1/me', joinerToken)).body.teams).toEqual([]);

    const resourceId = `${team.id}:${joiner.id}`;
    const actions = (await em().find(AuditLogSchema, { resourceId }, { orderBy: { id: 'asc' } })).map((a) => [a.action, a.data]);
    expect(actions).toEqual([
      ['team.member.add', { userId: joiner.id, role: 'viewer', previousRole: null }],
      ['team.member.update', { userId: joiner.id, role: 'approver', previousRole: 'viewer' }],
      ['team.member.remove', { userId: joiner.id, previousRole: 'approver' }],
    ]);
  });

  it('is 403 without team:manage, 404 for a team the caller cannot see, open to platform admins', async () => {
    const team = await createTeam(api.deps.db.em);
    const other = await createTeam(api.deps.db.em);
    const operator = await tokenFor(await createUser(api.deps.db.em, { teams: [team], role: 'operator' }));
    const lead = await tokenFor(await createUser(api.deps.db.em, { teams: [team], role: 'admin' }));
    const target = await createUser(api.deps.db.em);

    expect((await call('PUT', `/api/v1/teams/${team.slug}/members`, operator, { userId: target.id, role: 'viewer' })).status).toBe(403);
    const hidden = await call('PUT', `/api/v1/teams/${other.slug}/members`, lead, { userId: target.id, role: 'viewer' });
    expect(hidden.status).toBe(404);
    expect(hidden.body.detail).toBe('team not found');
    expect((await call('GET', `/api/v1/teams/${other.slug}/members`, lead)).status).toBe(404);
    expect((await call('DELETE', `/api/v1/teams/${other.slug}/members/${target.id}`, lead)).status).toBe(404);
    expect((await call('PUT', `/api/v1/teams/no-such-${tag()}/members`, admin, { userId: target.id, role: 'viewer' })).status).toBe(404);
    expect((await call('PUT', `/api/v1/teams/${other.slug}/members`, admin, { userId: target.id, role: 'operator' })).status).toBe(201);
    expect(await em().count(AuditLogSchema, { resourceId: `${team.id}:${target.id}` })).toBe(0);
  });

  it('a team admin can neither add a platform admin nor tell which emails have accounts', async () => {
    const team = await createTeam(api.deps.db.em);
    const lead = await tokenFor(await createUser(api.deps.db.em, { teams: [team], role: 'admin' }));
    const path = `/api/v1/teams/${team.slug}/members`;
    const platformAdmin = await createUser(api.deps.db.em, { role: 'platform-admin' });
    const disabled = await createUser(api.deps.db.em);
    await em().nativeUpdate(UserSchema, { id: disabled.id }, { disabled: true });

    // A platform admin, a disabled account and no account at all: one and the same answer.
    const answers = [];
    for (const body of [{ email: platformAdmin.email }, { userId: platformAdmin.id }, { email: disabled.email }, { email: `nobody-${tag()}@example.test` }]) {
      const res = await call('PUT', path, lead, { ...body, role: 'viewer' });
      answers.push([res.status, res.body.detail]);
    }
    expect(new Set(answers.map((a) => JSON.stringify(a)))).toEqual(new Set([JSON.stringify([404, 'no user with this email or id can be added'])]));
    expect((await call('GET', path, lead)).body.items.map((m: { userId: string }) => m.userId)).not.toContain(platformAdmin.id);

    // Guessing is budgeted: 20 misses an hour, then 429 whatever the email.
    for (let i = answers.length; i < 20; i++) expect((await call('PUT', path, lead, { email: `guess-${i}-${tag()}@example.test`, role: 'viewer' })).status).toBe(404);
    const real = await createUser(api.deps.db.em);
    const limited = await call('PUT', path, lead, { email: real.email, role: 'viewer' });
    expect(limited.status).toBe(429);
    // A platform admin (who lists users anyway) is not limited, and may add a platform admin.
    expect((await call('PUT', path, admin, { email: platformAdmin.email, role: 'viewer' })).status).toBe(201);
  });

  it('names bad fields, refuses unknown users, and writes nothing', async () => {
    const team = await createTeam(api.deps.db.em);
    const target = await createUser(api.deps.db.em);
    const path = `/api/v1/teams/${team.slug}/members`;
    const both = await call('PUT', path, admin, { email: target.email, userId: target.id, role: 'viewer' });
    expect(both.status).toBe(400);
    expect(both.body.errors).toEqual([{ field: 'email', message: 'give exactly one of email or userId' }]);
    const badRole = await call('PUT', path, admin, { userId: target.id, role: 'owner' });
    expect(badRole.body.errors).toEqual([expect.objectContaining({ field: 'role' })]);
    expect((await call('PUT', path, admin, { email: `ghost-${tag()}@example.test`, role: 'viewer' })).status).toBe(404);
    expect((await call('DELETE', `${path}/not-a-uuid`, admin)).body.errors).toEqual([expect.objectContaining({ field: 'userId' })]);
    expect(await em().count(AuditLogSchema, { teamId: team.id })).toBe(0);
    expect((await call('GET', path, admin)).body.items).toEqual([]);
  });
});
