import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AuditLogSchema, MembershipSchema } from '../../db/entities/index.ts';
import { client, tokenFor } from '../fixtures/http.ts';
import { holdingMemberships } from '../fixtures/locks.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { startApi, type TestApi } from '../peers/stack.ts';

let api: TestApi;
let platformAdmin: string;
beforeAll(async () => {
  api = await startApi();
  platformAdmin = await tokenFor(api, (await createUser(api.deps.db.em, { role: 'platform-admin' })).id);
});
afterAll(() => api.close());

const em = () => api.deps.db.em.fork();
const adminsOf = async (teamId: string) => (await em().find(MembershipSchema, { team: teamId, role: 'admin' })).map((m) => (m.user as unknown as { id: string }).id);

describe('a team never loses its last admin', () => {
  it('refuses to demote or remove the only admin, naming why, whoever asks and writing nothing', async () => {
    const team = await createTeam(api.deps.db.em);
    const lead = await createUser(api.deps.db.em, { teams: [team], role: 'admin' });
    const other = await createUser(api.deps.db.em, { teams: [team], role: 'operator' });
    const leadToken = await tokenFor(api, lead.id);
    const path = `/api/v1/teams/${team.slug}/members`;

    const demote = await client(api, leadToken).put(path, { userId: lead.id, role: 'approver' });
    expect(demote.status).toBe(409);
    expect(demote.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(demote.body.detail).toBe(`the last admin of team ${team.slug} cannot be demoted to approver; make another member admin first`);
    expect(demote.body.errors).toEqual([{ field: 'role', message: 'the team’s last admin' }]);

    // Platform admins are not members: their access does not stand in for a team admin.
    const removed = await client(api, platformAdmin).del(`${path}/${lead.id}`);
    expect(removed.status).toBe(409);
    expect(removed.body.detail).toContain('cannot be removed');
    expect(removed.body.errors).toEqual([{ field: 'userId', message: 'the team’s last admin' }]);
    expect((await client(api, leadToken).del(`${path}/${lead.id}`)).status).toBe(409);

    expect(await adminsOf(team.id)).toEqual([lead.id]);
    expect(await em().count(AuditLogSchema, { teamId: team.id })).toBe(0);

    // Re-stating the role, and changing other members, stay allowed.
    expect((await client(api, leadToken).put(path, { userId: lead.id, role: 'admin' })).status).toBe(200);
    expect((await client(api, leadToken).put(path, { userId: other.id, role: 'viewer' })).status).toBe(200);
    expect((await client(api, leadToken).del(`${path}/${other.id}`)).status).toBe(204);
  });

  it('lets an admin step down once another member is admin, and then protects that one', async () => {
    const team = await createTeam(api.deps.db.em);
    const lead = await createUser(api.deps.db.em, { teams: [team], role: 'admin' });
    const next = await createUser(api.deps.db.em, { teams: [team], role: 'viewer' });
    const leadToken = await tokenFor(api, lead.id);
    const path = `/api/v1/teams/${team.slug}/members`;

    expect((await client(api, leadToken).put(path, { userId: next.id, role: 'admin' })).status).toBe(200);
    const stepDown = await client(api, leadToken).put(path, { userId: lead.id, role: 'viewer' });
    expect(stepDown.status).toBe(200);
    expect(stepDown.body.role).toBe('viewer');
    expect(await adminsOf(team.id)).toEqual([next.id]);

    expect((await client(api, platformAdmin).del(`${path}/${next.id}`)).status).toBe(409);
    expect((await client(api, platformAdmin).del(`${path}/${lead.id}`)).status).toBe(204);
    expect(await adminsOf(team.id)).toEqual([next.id]);
  });

  it('holds under concurrent demotions and removals of the last two admins', async () => {
    const team = await createTeam(api.deps.db.em);
    const a = await createUser(api.deps.db.em, { teams: [team], role: 'admin' });
    const b = await createUser(api.deps.db.em, { teams: [team], role: 'admin' });
    const path = `/api/v1/teams/${team.slug}/members`;
    // Hold the team's membership rows so both requests are in flight, each past whatever it read
    // without a lock, before either can write: each must not then rely on "another admin remains".
    const requests = await holdingMemberships(em, team.id, 2, () => [
      client(api, platformAdmin).put(path, { userId: a.id, role: 'operator' }),
      client(api, platformAdmin).del(`${path}/${b.id}`),
    ]);
    const statuses = (await Promise.all(requests)).map((r) => r.status);
    expect(await adminsOf(team.id)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(1);
    expect(statuses.filter((s) => s === 200 || s === 204)).toHaveLength(1);
  });
});
