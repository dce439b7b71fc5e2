import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client, Connection, ScheduleNotFoundError } from '@temporalio/client';
import { createScheduleActivities } from '../../activities/schedules.ts';
import { temporalScheduleId } from '../../core/schedule-fires.ts';
import { MembershipSchema } from '../../db/entities/index.ts';
import { startApi, type TestApi } from '../peers/stack.ts';
import { createNamespace } from '../peers/temporal.ts';
import { peerContext } from '../peers/context.ts';
import { startTestWorker, type TestWorker } from '../peers/worker.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { client } from '../fixtures/http.ts';
import { simpleConfig } from '../fixtures/terraform.ts';
import { until } from '../fixtures/until.ts';
import { HISTORIES_DIR, historyToPlainJson } from '../workflows/record-histories.ts';

// Schedules through the API against the Temporal dev server's own Schedules, a real worker and
// terraform: a fire is an ordinary run whose requester is the schedule.
let api: TestApi;
let worker: TestWorker;
let temporal: Client;
let team: { id: string; slug: string };
let approver: { id: string; token: string };
let viewerToken: string;
let adminToken: string;
let outsiderToken: string;

const login = async (u: { email: string; password: string }) => (await client(api).post('/api/v1/auth/login', u)).body.accessToken as string;
const name = () => `nightly-${crypto.randomUUID().slice(0, 6)}`;
const farCron = { cron: ['0 3 1 1 *'], timezone: 'Europe/Berlin' };
const create = (body: Record<string, unknown>, token = approver.token) =>
  client(api, token).post('/api/v1/schedules', { team: team.slug, name: name(), kind: 'terraform', params: { workspace: `sch-${crypto.randomUUID().slice(0, 6)}`, files: simpleConfig() }, spec: farCron, ...body });
const runsOf = async (scheduleId: string) => {
  const res = await client(api, approver.token).get(`/api/v1/runs?team=${team.slug}&limit=50`);
  return (res.body.runs as Array<{ id: string; status: string; requester: { type: string; id: string; label: string } }>).filter((r) => r.requester.type === 'schedule' && r.requester.id === scheduleId);
};
const runEnded = (runId: string, status: string) =>
  until(`run ${runId} to be ${status}`, async () => {
    const r = await client(api, approver.token).get(`/api/v1/runs/${runId}`);
    return r.body.status === status ? r.body : undefined;
  }, 90_000);

let isolated: Record<string, string>;
beforeAll(async () => {
  isolated = { TEMPORAL_NAMESPACE: `sched-${crypto.randomUUID().slice(0, 8)}` };
  const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  await createNamespace(connection, isolated.TEMPORAL_NAMESPACE!);
  temporal = new Client({ connection, namespace: isolated.TEMPORAL_NAMESPACE! });
  api = await startApi(isolated);
  worker = await startTestWorker(isolated);
  team = await createTeam(api.deps.db.em);
  const other = await createTeam(api.deps.db.em);
  const a = await createUser(api.deps.db.em, { teams: [team], role: 'approver' });
  approver = { id: a.id, token: await login(a) };
  viewerToken = await login(await createUser(api.deps.db.em, { teams: [team], role: 'viewer' }));
  adminToken = await login(await createUser(api.deps.db.em, { teams: [team], role: 'admin' }));
  outsiderToken = await login(await createUser(api.deps.db.em, { teams: [other], role: 'admin' }));
});
afterAll(async () => {
  await worker?.shutdown();
  await api?.close();
  await temporal?.connection.close();
});

describe('bad input is a 400 naming the field, and leaves nothing behind', () => {
  it.each([
    ['spec.cron.0', { spec: { cron: ['every day please'] } }],
    ['spec.cron', { spec: { cron: ['0 3 * * *'], everySeconds: 60 } }],
    ['spec.timezone', { spec: { everySeconds: 60, timezone: 'Mars/Olympus' } }],
    ['spec.offsetSeconds', { spec: { cron: ['0 3 * * *'], offsetSeconds: 60 } }],
    ['params.workspace', { params: { files: simpleConfig() } }],
    ['kind', { kind: 'constructor' }],
    ['overlap', { overlap: 'whenever' }],
  ])('%s', async (field, body) => {
    const res = await create(body);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
  });

  it('a cron expression only Temporal can refuse (minute 61) is a 400 on spec, with no schedule left', async () => {
    const before = (await client(api, approver.token).get(`/api/v1/schedules?team=${team.slug}`)).body.schedules.length;
    const res = await create({ spec: { cron: ['61 3 * * *'] } });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].field).toBe('spec');
    expect((await client(api, approver.token).get(`/api/v1/schedules?team=${team.slug}`)).body.schedules).toHaveLength(before);
  });

  it('a viewer may not create one (403); another team does not see it (404)', async () => {
    expect((await create({}, viewerToken)).status).toBe(403);
    const made = await create({});
    expect(made.status).toBe(201);
    expect((await client(api, outsiderToken).get(`/api/v1/schedules/${made.body.id}`)).status).toBe(404);
    expect((await client(api, outsiderToken).post(`/api/v1/schedules/${made.body.id}/trigger`)).status).toBe(404);
    expect((await client(api, viewerToken).post(`/api/v1/schedules/${made.body.id}/trigger`)).status).toBe(403);
    expect((await create({ name: made.body.name })).status).toBe(409);
  });
});

describe('fires', () => {
  it('every N seconds: the fire is an ordinary run whose requester is the schedule, and pause stops it in Temporal', async () => {
    const res = await create({ spec: { everySeconds: 2 }, params: { workspace: `sch-${crypto.randomUUID().slice(0, 6)}`, files: simpleConfig(), autoApply: true } });
    expect(res.status).toBe(201);
    const id = res.body.id as string;
    expect(res.body.nextFireTimes.length).toBeGreaterThan(0);
    const first = await until('the schedule to start a run', async () => (await runsOf(id))[0], 30_000, 200);
    expect(first.requester).toEqual({ type: 'schedule', id, label: res.body.name });
    await runEnded(first.id, 'succeeded');

    const paused = await client(api, approver.token).post(`/api/v1/schedules/${id}/pause`, { note: 'maintenance window' });
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({ paused: true, note: 'maintenance window', nextFireTimes: [] });
    const described = await temporal.schedule.getHandle(temporalScheduleId(id)).describe();
    expect(described.state).toMatchObject({ paused: true, note: 'maintenance window' });
    const view = (await client(api, approver.token).get(`/api/v1/schedules/${id}`)).body;
    expect(view.recent.map((r: { runId: string }) => r.runId)).toContain(first.id);
    expect(view.lastFire.at).toEqual(expect.any(String));
  }, 120_000);

  it('trigger now starts a run that waits for approval like any other, and is audited', async () => {
    const res = await create({});
    const id = res.body.id as string;
    expect((await client(api, approver.token).post(`/api/v1/schedules/${id}/trigger`)).status).toBe(202);
    const run = await until('the triggered run', async () => (await runsOf(id))[0], 30_000, 200);
    await runEnded(run.id, 'awaiting_approval');
    // Four-eyes is off for this fixture team: the approver may approve a run their schedule started.
    expect((await client(api, adminToken).post(`/api/v1/runs/${run.id}/approve`, { comment: 'ok' })).status).toBe(200);
    await runEnded(run.id, 'succeeded');
    // The fire's launcher workflow ends with its run; its history joins the replay test's fixtures.
    const fire = (await temporal.schedule.getHandle(temporalScheduleId(id)).describe()).info.recentActions[0]!.action.workflow.workflowId;
    await expect(temporal.workflow.getHandle(fire).result()).resolves.toEqual({ outcome: 'started', runId: run.id });
    if (process.env.RECORD_HISTORIES === '1') {
      const history = await temporal.workflow.getHandle(fire).fetchHistory();
      await writeFile(path.join(HISTORIES_DIR, 'scheduled-run-started.json'), JSON.stringify(historyToPlainJson(history), null, 1));
    }
    const audit = await api.deps.db.em.fork().getConnection().execute<{ action: string }[]>('select action from audit_log where resource_id = ? order by id', [id]);
    expect(audit.map((a) => a.action)).toEqual(['schedule.create', 'schedule.trigger']);
  }, 120_000);

  it('a fire is checked against its author now: an author demoted to viewer starts nothing, and the schedule says why', async () => {
    const author = await createUser(api.deps.db.em, { teams: [team], role: 'operator' });
    const res = await create({}, await login(author));
    expect(res.status).toBe(201);
    await api.deps.db.em.fork().nativeUpdate(MembershipSchema, { user: author.id, team: team.id }, { role: 'viewer' });
    expect((await client(api, adminToken).post(`/api/v1/schedules/${res.body.id}/trigger`)).status).toBe(202);
    const view = await until('the fire to be recorded', async () => {
      const v = (await client(api, adminToken).get(`/api/v1/schedules/${res.body.id}`)).body;
      return v.lastFire ? v : undefined;
    }, 30_000, 200);
    expect(view.lastFire).toMatchObject({ runId: null, skipped: expect.stringMatching(/may no longer start terraform runs/) });
    expect(await runsOf(res.body.id)).toEqual([]);
  }, 60_000);

  it('delete removes the Temporal Schedule and the row', async () => {
    const res = await create({});
    expect((await client(api, approver.token).del(`/api/v1/schedules/${res.body.id}`)).status).toBe(204);
    await expect(temporal.schedule.getHandle(temporalScheduleId(res.body.id)).describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
    expect((await client(api, approver.token).get(`/api/v1/schedules/${res.body.id}`)).status).toBe(404);
  });
});

describe('a schedule runs as its author: nobody gets more through it than they hold', () => {
  it('one that auto-applies cannot be fired or kept by someone who may not auto-approve; an edit takes it over', async () => {
    const res = await create({ params: { workspace: `sch-${crypto.randomUUID().slice(0, 6)}`, files: simpleConfig(), autoApply: true } });
    expect(res.status).toBe(201);
    const operator = await login(await createUser(api.deps.db.em, { teams: [team], role: 'operator' }));
    expect((await client(api, operator).post(`/api/v1/schedules/${res.body.id}/trigger`)).status).toBe(403);
    expect((await client(api, operator).patch(`/api/v1/schedules/${res.body.id}`, { spec: { everySeconds: 60 } })).status).toBe(403);
    expect((await client(api, approver.token).get(`/api/v1/schedules/${res.body.id}`)).body).toMatchObject({ spec: farCron, createdBy: { id: approver.id } });
    const admin = await client(api, adminToken).get('/api/v1/me');
    const edited = await client(api, adminToken).patch(`/api/v1/schedules/${res.body.id}`, { name: name() });
    expect(edited.status).toBe(200);
    expect(edited.body.createdBy).toMatchObject({ id: admin.body.user.id });
  });

  it("another team's integration in its params is a 400 naming params, and no schedule", async () => {
    const before = (await client(api, approver.token).get(`/api/v1/schedules?team=${team.slug}`)).body.schedules.length;
    const foreign = crypto.randomUUID();
    const res = await create({ kind: 'ssh-command', params: { hosts: [{ name: 'web', address: '127.0.0.1', port: 22, integration: foreign }], command: 'true' } });
    expect([res.status, res.body.errors]).toEqual([400, [{ field: 'params', message: `${foreign} is not an integration of ${team.slug}` }]]);
    expect((await client(api, approver.token).get(`/api/v1/schedules?team=${team.slug}`)).body.schedules).toHaveLength(before);
  });

  it('four-eyes: the author of a schedule may not approve the runs it fires', async () => {
    const strict = await createTeam(api.deps.db.em, undefined, { fourEyes: true });
    const [author, other] = [await createUser(api.deps.db.em, { teams: [strict], role: 'approver' }), await createUser(api.deps.db.em, { teams: [strict], role: 'approver' })];
    const authorToken = await login(author);
    const res = await client(api, authorToken).post('/api/v1/schedules', { team: strict.slug, name: name(), kind: 'terraform', params: { workspace: `sch-${crypto.randomUUID().slice(0, 6)}`, files: simpleConfig() }, spec: farCron });
    expect(res.status).toBe(201);
    expect((await client(api, authorToken).post(`/api/v1/schedules/${res.body.id}/trigger`)).status).toBe(202);
    const run = await until('the triggered run', async () => {
      const list = await client(api, authorToken).get(`/api/v1/runs?team=${strict.slug}&limit=5`);
      return (list.body.runs as Array<{ id: string; requester: { id: string } }>).find((r) => r.requester.id === res.body.id);
    }, 30_000, 200);
    await until('the run to wait for approval', async () => ((await client(api, authorToken).get(`/api/v1/runs/${run.id}`)).body.status === 'awaiting_approval' ? true : undefined), 90_000);
    const own = await client(api, authorToken).post(`/api/v1/runs/${run.id}/approve`, { comment: 'mine' });
    expect([own.status, own.body.detail]).toEqual([403, expect.stringMatching(/four-eyes/)]);
    expect((await client(api, await login(other)).post(`/api/v1/runs/${run.id}/reject`, { comment: 'not now' })).status).toBe(200);
  }, 120_000);
});

it('a retried fire whose author lost the right meanwhile fails the run it recorded, instead of leaving it queued', async () => {
  const author = await createUser(api.deps.db.em, { teams: [team], role: 'operator' });
  const res = await create({}, await login(author));
  const ctx = await peerContext();
  try {
    const acts = createScheduleActivities({ ...ctx, em: ctx.db.em });
    const fireId = `schedule-${res.body.id}-fire-2026-11-28T03:00:00Z`;
    const first = await acts.prepareScheduledRun({ scheduleId: res.body.id, fireId });
    expect(first.outcome).toBe('ready');
    await api.deps.db.em.fork().nativeUpdate(MembershipSchema, { user: author.id, team: team.id }, { role: 'viewer' });
    // The first attempt's answer was lost (its worker died): Temporal asks again.
    expect(await acts.prepareScheduledRun({ scheduleId: res.body.id, fireId })).toMatchObject({ outcome: 'skipped' });
    const [run] = await runsOf(res.body.id);
    expect(run).toMatchObject({ id: (first as { runId: string }).runId, status: 'failed' });
  } finally {
    await ctx.close();
  }
});

it('a retried fire records one run: the run id comes from the fire', async () => {
  const res = await create({});
  const ctx = await peerContext();
  try {
    const acts = createScheduleActivities({ ...ctx, em: ctx.db.em });
    const fireId = `schedule-${res.body.id}-fire-2026-11-27T03:00:00Z`;
    const [a, b] = [await acts.prepareScheduledRun({ scheduleId: res.body.id, fireId }), await acts.prepareScheduledRun({ scheduleId: res.body.id, fireId })];
    expect(a.outcome).toBe('ready');
    expect(b).toEqual(a);
    expect(await runsOf(res.body.id)).toHaveLength(1);
  } finally {
    await ctx.close();
  }
});
