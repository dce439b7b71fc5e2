import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { client, tokenFor } from '../fixtures/http.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { ownRedisKeys, startApi, type TestApi } from '../peers/stack.ts';

// What the dashboard's Roles and Audit pages need beyond the identity API: a member list that says
// which custom role each member holds, and an audit filter by the actor's email.
let api: TestApi;
let admin: string;
beforeAll(async () => {
  api = await startApi(ownRedisKeys('identity-dash'));
  admin = await tokenFor(api, (await createUser(api.deps.db.em, { role: 'platform-admin' })).id);
});
afterAll(() => api.close());

it('lists each member’s custom role, and null again once it is taken back', async () => {
  const team = await createTeam(api.deps.db.em);
  const member = await createUser(api.deps.db.em, { teams: [team], role: 'viewer' });
  const role = await client(api, admin).post('/api/v1/roles', { name: `reader-${crypto.randomUUID().slice(0, 6)}`, permissions: ['runs:read', 'runs:cancel'] });
  expect(role.status).toBe(201);
  const listed = async () => (await client(api, admin).get(`/api/v1/teams/${team.slug}/members`)).body.items.find((m: { userId: string }) => m.userId === member.id);

  expect(await listed()).toMatchObject({ role: 'viewer', customRole: null });
  expect((await client(api, admin).put(`/api/v1/teams/${team.slug}/members/${member.id}/role`, { roleId: role.body.id })).status).toBe(200);
  expect(await listed()).toMatchObject({ role: 'viewer', customRole: { id: role.body.id, name: role.body.name } });
  // Changing the built-in role keeps the custom one, and says so.
  const put = await client(api, admin).put(`/api/v1/teams/${team.slug}/members`, { userId: member.id, role: 'operator' });
  expect(put.body).toMatchObject({ role: 'operator', customRole: { id: role.body.id } });
  expect((await client(api, admin).put(`/api/v1/teams/${team.slug}/members/${member.id}/role`, { roleId: null })).status).toBe(200);
  expect(await listed()).toMatchObject({ role: 'operator', customRole: null });
});

it('filters the audit log by the actor’s email, whatever its case', async () => {
  const team = await createTeam(api.deps.db.em);
  const one = await createUser(api.deps.db.em, { teams: [team], role: 'admin', email: `One-${crypto.randomUUID().slice(0, 6)}@example.test` });
  const two = await createUser(api.deps.db.em, { teams: [team], role: 'admin' });
  expect((await client(api, await tokenFor(api, one.id)).patch(`/api/v1/teams/${team.slug}/settings`, { fourEyes: false })).status).toBe(200);
  expect((await client(api, await tokenFor(api, two.id)).patch(`/api/v1/teams/${team.slug}/settings`, { fourEyes: true })).status).toBe(200);

  const byOne = await client(api, admin).get(`/api/v1/audit?teamId=${team.id}&actorEmail=${encodeURIComponent(one.email.toUpperCase())}`);
  expect(byOne.status).toBe(200);
  expect(byOne.body.items).toEqual([expect.objectContaining({ actorId: one.id, actorEmail: one.email })]);
  expect((await client(api, admin).get(`/api/v1/audit?teamId=${team.id}`)).body.items).toHaveLength(2);
  const tooLong = await client(api, admin).get(`/api/v1/audit?actorEmail=${'a'.repeat(300)}`);
  expect([tooLong.status, tooLong.body.errors?.[0]?.field]).toEqual([400, 'actorEmail']);
});
