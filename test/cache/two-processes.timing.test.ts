import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RunSchema } from '../../db/entities/index.ts';
import { initOrm, type Db } from '../../db/orm.ts';
import { client } from '../fixtures/http.ts';
import { insertRun } from '../fixtures/runs.ts';
import { until } from '../fixtures/until.ts';
import { createTeam, createUser, PASSWORD } from '../fixtures/users.ts';
import { startApiProcess, type ApiProcess } from '../peers/api-process.ts';

// Two real API processes sharing only PostgreSQL and Redis, as behind a load balancer: what one
// changes, the other's cache must stop serving.
let a: ApiProcess;
let b: ApiProcess;
let db: Db;
let team: { id: string; slug: string };
let adminToken: string;

const login = async (api: ApiProcess, email: string) => {
  const res = await client(api).post('/api/v1/auth/login', { email, password: PASSWORD });
  expect(res.status).toBe(200);
  return res.body.accessToken as string;
};
const cacheCounters = async (api: ApiProcess) => (await client(api).get('/cache/metrics')).body.caches as Record<string, { l1: number; l2: number; miss: number; promoted: number }>;

beforeAll(async () => {
  [a, b] = await Promise.all([startApiProcess(), startApiProcess()]);
  db = await initOrm(process.env.DATABASE_URL!);
  team = await createTeam(db.em);
  const admin = await createUser(db.em, { role: 'platform-admin' });
  adminToken = await login(a, admin.email);
});
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await db?.close();
});

describe('the two-level cache across API processes', () => {
  it('serves the principal from memory and from Redis, and counts it', async () => {
    const user = await createUser(db.em, { teams: [team], role: 'viewer' });
    const token = await login(a, user.email);
    const before = (await cacheCounters(b)).principal ?? { l1: 0, l2: 0, miss: 0, promoted: 0 };
    // A has it (the login's first use was there); B finds it in Redis first, then in its memory.
    expect((await client(a, token).get('/api/v1/me')).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await client(b, token).get('/api/v1/me')).status).toBe(200);
    const after = (await cacheCounters(b)).principal!;
    expect(after.l1 + after.l2 + after.miss - (before.l1 + before.l2 + before.miss)).toBe(3);
    expect(after.l1).toBeGreaterThan(before.l1);
    const prometheus = await (await fetch(`${b.baseUrl}/metrics`)).text();
    expect(prometheus).toMatch(/opssight_cache_requests_total\{cache="principal",result="l1"\} [1-9]/);
  });

  it('a role change through one process is seen by the other within 100 ms', async () => {
    const user = await createUser(db.em, { teams: [team], role: 'viewer' });
    const token = await login(b, user.email);
    // Cached on B now, for a second: only an invalidation can make B see the change sooner.
    const roleOnB = async () => ((await client(b, token).get('/api/v1/me')).body.teams as { role: string }[])[0]?.role;
    expect(await roleOnB()).toBe('viewer');
    const cachedAt = Date.now();
    const put = await client(a, adminToken).put(`/api/v1/teams/${team.slug}/members`, { userId: user.id, role: 'operator' });
    expect(put.status).toBe(200);
    const answered = Date.now();
    await until('B to see the new role', async () => ((await roleOnB()) === 'operator' ? true : undefined), 2_000, 2);
    const seenAfter = Date.now() - answered;
    expect(seenAfter).toBeLessThan(100);
    // Well inside the cached principal's second: the invalidation did it, not the expiry.
    expect(Date.now() - cachedAt).toBeLessThan(1_000);
  });

  it('a user disabled through one process is refused by both within a second', async () => {
    const user = await createUser(db.em, { teams: [team], role: 'operator' });
    const token = await login(a, user.email);
    for (const api of [a, b]) expect((await client(api, token).get('/api/v1/teams')).status).toBe(200);
    const res = await client(a, adminToken).patch(`/api/v1/users/${user.id}`, { disabled: true });
    expect(res.status).toBe(200);
    const answered = Date.now();
    const refusedAfter = await Promise.all(
      [a, b].map(async (api) => {
        await until('refusal', async () => ((await client(api, token).get('/api/v1/teams')).status === 401 ? true : undefined), 5_000, 5);
        return Date.now() - answered;
      }),
    );
    for (const ms of refusedAfter) expect(ms).toBeLessThan(1_000);
  });

  it('a logout through one process ends the token on the other within a second', async () => {
    const user = await createUser(db.em, { teams: [team], role: 'viewer' });
    const token = await login(a, user.email);
    expect((await client(b, token).get('/api/v1/me')).status).toBe(200);
    expect((await client(a, token).post('/api/v1/auth/logout')).status).toBe(204);
    const answered = Date.now();
    await until('refusal on B', async () => ((await client(b, token).get('/api/v1/me')).status === 401 ? true : undefined), 5_000, 5);
    expect(Date.now() - answered).toBeLessThan(1_000);
  });

  // Through PostgreSQL's NOTIFY, then each process's own invalidation; the bound is looser than the
  // bus's above only because it is measured through HTTP polls of both processes on a shared machine.
  it('a run changed in PostgreSQL, as a worker changes it, is listed anew by both within 500 ms', async () => {
    const user = await createUser(db.em, { teams: [team], role: 'viewer' });
    const token = await login(a, user.email);
    const runId = await insertRun(db.em, team, user.id, { status: 'running' });
    const statusOn = async (api: ApiProcess) => ((await client(api, token).get(`/api/v1/runs?team=${team.slug}&limit=5`)).body.runs as { id: string; status: string }[]).find((r) => r.id === runId)?.status;
    for (const api of [a, b]) expect(await statusOn(api)).toBe('running');
    // Served from the cache now: a second read misses nothing.
    const before = (await cacheCounters(b)).runs!;
    await statusOn(b);
    expect((await cacheCounters(b)).runs!.miss).toBe(before.miss);
    await db.em.fork().nativeUpdate(RunSchema, { id: runId }, { status: 'succeeded' });
    const changed = Date.now();
    const seenAfter = await Promise.all(
      [a, b].map(async (api) => {
        await until('the new status', async () => ((await statusOn(api)) === 'succeeded' ? true : undefined), 2_000, 2);
        return Date.now() - changed;
      }),
    );
    for (const ms of seenAfter) expect(ms).toBeLessThan(500);
  });

  it('a team created through one process is in the other one\'s team list at once', async () => {
    const listOnB = async () => ((await client(b, adminToken).get('/api/v1/teams')).body.items as { slug: string }[]).map((t) => t.slug);
    await listOnB();
    const slug = `t-${crypto.randomUUID().slice(0, 8)}`;
    expect((await client(a, adminToken).post('/api/v1/teams', { slug, name: slug })).status).toBe(201);
    const answered = Date.now();
    await until('B to list the team', async () => ((await listOnB()).includes(slug) ? true : undefined), 2_000, 2);
    expect(Date.now() - answered).toBeLessThan(100);
  });
});
