import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { AuditLogSchema } from '../../db/entities/index.ts';
import { client, tokenFor } from '../fixtures/http.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { startApi, type TestApi } from '../peers/stack.ts';
import { ownNamespace } from '../peers/temporal.ts';

// Changing an on-call schedule (PUT /api/v1/oncall/:schedule) against the real API and PostgreSQL:
// who may, what a refusal names, and that a refused change leaves the schedule as it was.
let api: TestApi;
let team: { id: string; slug: string };
let admin: ReturnType<typeof client>;
let operator: ReturnType<typeof client>;
let outsiderAdmin: ReturnType<typeof client>;
let ann: string;
let bob: string;
let stranger: string;

beforeAll(async () => {
  api = await startApi({ TEMPORAL_NAMESPACE: await ownNamespace('oncall-api') });
  team = await createTeam(api.deps.db.em);
  const other = await createTeam(api.deps.db.em);
  const adminUser = await createUser(api.deps.db.em, { teams: [team], role: 'admin' });
  ann = adminUser.id;
  const op = await createUser(api.deps.db.em, { teams: [team], role: 'operator' });
  bob = op.id;
  stranger = (await createUser(api.deps.db.em, { teams: [other], role: 'admin' })).id;
  admin = client(api, await tokenFor(api, ann));
  operator = client(api, await tokenFor(api, bob));
  outsiderAdmin = client(api, await tokenFor(api, stranger));
}, 60_000);
afterAll(async () => {
  await api?.close();
});

const layer = (users: string[], extra: Record<string, unknown> = {}) => ({ name: 'week', users, rotation: 'weekly', handoffTime: '00:00', timeZone: 'UTC', start: '2026-01-05', ...extra });
async function schedule(name: string) {
  const res = await admin.post('/api/v1/oncall', { team: team.slug, name, layers: [layer([ann, bob])] });
  expect(res.status).toBe(201);
  return res.body as { id: string; name: string; layers: unknown[]; overrides: unknown[] };
}

it('replaces name, layers and overrides at once; who is on call follows; the change is audited', async () => {
  const s = await schedule(`rota-${crypto.randomUUID().slice(0, 6)}`);
  // Monday 2026-01-05 00:00 UTC starts ann's week; bob's starts the 12th.
  const at = '2026-01-07T12:00:00Z';
  expect((await admin.get(`/api/v1/oncall/${s.id}/now?at=${at}`)).body).toMatchObject({ user: { id: ann }, layer: 'week' });
  const override = { user: bob, from: '2026-01-07T10:00:00Z', to: '2026-01-07T14:00:00Z' };
  const put = await admin.put(`/api/v1/oncall/${s.id}`, { name: `${s.name}-b`, layers: [layer([bob, ann]), layer([ann], { name: 'weekends', rotation: 'custom', lengthDays: 2, weekdays: [6, 7] })], overrides: [override] });
  expect(put.status).toBe(200);
  expect(put.body).toMatchObject({ id: s.id, name: `${s.name}-b`, overrides: [override] });
  expect((await admin.get(`/api/v1/oncall/${s.id}`)).body.layers.map((l: { name: string; users: string[] }) => [l.name, l.users])).toEqual([['week', [bob, ann]], ['weekends', [ann]]]);
  expect((await admin.get(`/api/v1/oncall/${s.id}/now?at=${at}`)).body).toMatchObject({ user: { id: bob }, layer: null });
  expect((await admin.get(`/api/v1/oncall/${s.id}/now?at=2026-01-07T16:00:00Z`)).body).toMatchObject({ user: { id: bob }, layer: 'week' });
  const audit = await api.deps.db.em.fork().find(AuditLogSchema, { resourceId: s.id, action: 'oncall_schedule.update' });
  expect(audit.map((r) => [r.actorId, r.data])).toEqual([[ann, { name: `${s.name}-b`, version: 2, layers: 2, overrides: 1 }]]);
});

it('two edits made from one version: the first is saved, the second refused (409 naming version) and nothing of it kept', async () => {
  const s = await schedule(`race-${crypto.randomUUID().slice(0, 6)}`);
  expect((await admin.get(`/api/v1/oncall/${s.id}`)).body.version).toBe(1);
  const edit = (users: string[]) => admin.put(`/api/v1/oncall/${s.id}`, { name: s.name, version: 1, layers: [layer(users)], overrides: [] });
  // At once, as two people pressing Save: exactly one of them becomes version 2.
  const [first, second] = await Promise.all([edit([bob]), edit([ann])]);
  expect([first.status, second.status].sort()).toEqual([200, 409]);
  const [won, lost] = first.status === 200 ? [first, second] : [second, first];
  expect(won.body.version).toBe(2);
  expect(lost.headers.get('content-type')).toContain('application/problem+json');
  expect(lost.body.errors).toEqual([{ field: 'version', message: 'not the current version' }]);
  const now = (await admin.get(`/api/v1/oncall/${s.id}`)).body;
  expect([now.version, now.layers[0].users]).toEqual([2, won.body.layers[0].users]);
  // Made from an old version later on: still refused; from the current one: saved.
  expect((await edit([ann, bob])).status).toBe(409);
  const current = await admin.put(`/api/v1/oncall/${s.id}`, { name: s.name, version: 2, layers: [layer([ann, bob])], overrides: [] });
  expect([current.status, current.body.version]).toEqual([200, 3]);
  expect(await api.deps.db.em.fork().count(AuditLogSchema, { resourceId: s.id, action: 'oncall_schedule.update' })).toBe(2);
});

it('refuses, naming the field, and keeps the schedule as it was: outsiders, bad layers and overrides, a taken name', async () => {
  const s = await schedule(`keep-${crypto.randomUUID().slice(0, 6)}`);
  const taken = await schedule(`taken-${crypto.randomUUID().slice(0, 6)}`);
  const body = (patch: Record<string, unknown>) => ({ name: s.name, layers: [layer([ann])], overrides: [], ...patch });
  const cases: [ReturnType<typeof client>, Record<string, unknown>, number, { field: string; message: string }[] | undefined][] = [
    [admin, body({ overrides: [{ user: stranger, from: '2026-01-07T10:00:00Z', to: '2026-01-07T12:00:00Z' }] }), 400, [{ field: 'overrides.0.user', message: 'not a member of the team' }]],
    [admin, body({ layers: [layer([ann]), layer([bob, stranger], { name: 'second' })] }), 400, [{ field: 'layers.1.users', message: 'names a user who is not a member of the team' }]],
    [admin, body({ overrides: [{ user: bob, from: '2026-01-07T10:00:00Z', to: '2026-01-07T09:00:00Z' }] }), 400, [{ field: 'overrides.0.to', message: 'must end after it starts' }]],
    [admin, body({ layers: [layer([ann], { timeZone: 'Mars/Olympus' })] }), 400, [{ field: 'layers.0.timeZone', message: 'an IANA time zone, e.g. Europe/Berlin' }]],
    [admin, body({ layers: [] }), 400, [{ field: 'layers', message: expect.any(String) as unknown as string }]],
    [admin, body({ name: taken.name }), 409, [{ field: 'name', message: 'already taken' }]],
    [operator, body({}), 403, undefined],
    [outsiderAdmin, body({}), 404, undefined],
  ];
  for (const [who, b, status, errors] of cases) {
    const res = await who.put(`/api/v1/oncall/${s.id}`, b);
    expect([res.status, res.headers.get('content-type')]).toEqual([status, expect.stringContaining('application/problem+json')]);
    if (errors) expect(res.body.errors).toEqual(errors);
  }
  expect((await admin.get(`/api/v1/oncall/${s.id}`)).body).toEqual(s);
  expect(await api.deps.db.em.fork().count(AuditLogSchema, { resourceId: s.id, action: 'oncall_schedule.update' })).toBe(0);
});
