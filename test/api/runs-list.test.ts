import http from 'node:http';
import { brotliDecompressSync, gunzipSync, zstdDecompressSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RunSchema, TeamSchema, UserSchema } from '../../db/entities/index.ts';
import { updateRunState } from '../../db/repositories/runs.ts';
import { applyRunState } from '../../activities/run-state.ts';
import { cacheTags } from '../../core/cache/tags.ts';
import { createMetrics } from '../../core/metrics.ts';
import { startApi, type TestApi } from '../peers/stack.ts';
import { ownNamespace } from '../peers/temporal.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { client, tokenFor } from '../fixtures/http.ts';
import { simpleConfig } from '../fixtures/terraform.ts';
import { until } from '../fixtures/until.ts';

// The list's search and filters (text, starter, dates, the discarded status), the run's time split
// into working and waiting for approval, and re-run. Rows are inserted directly (no worker); re-run
// starts real workflows in a namespace of this file's own, where they stay queued.
let api: TestApi;
let team: { id: string; slug: string };
let alice: { id: string; email: string };
let bob: { id: string; email: string };
let aliceToken: string;
let viewerToken: string;
const ids: Record<string, string> = {};
const DAY = 86_400_000;
const t0 = Date.parse('2026-03-10T12:00:00Z');

async function insert(name: string, row: { status: string; by: { id: string }; at: number; target: string; approval?: object; error?: string }) {
  const em = api.deps.db.em.fork();
  const run = em.create(RunSchema, {
    id: crypto.randomUUID(),
    kind: 'terraform',
    team: em.getReference(TeamSchema, team.id),
    status: row.status as 'failed',
    target: row.target,
    activeTarget: null,
    params: { workspace: row.target, files: simpleConfig(), variables: { who: name }, autoApply: false },
    requestedBy: em.getReference(UserSchema, row.by.id),
    requester: { type: 'user', id: row.by.id, label: 'fixture@example.test' },
    approval: (row.approval ?? null) as never,
    error: row.error ?? null,
    createdAt: new Date(row.at),
    updatedAt: new Date(row.at),
  });
  await em.flush();
  ids[name] = run.id;
}

const list = async (query: string) => {
  const res = await client(api, aliceToken).get(`/api/v1/runs?team=${team.slug}&${query}`);
  expect(res.status).toBe(200);
  return (res.body.runs as { id: string }[]).map((r) => Object.entries(ids).find(([, id]) => id === r.id)?.[0] ?? r.id);
};

beforeAll(async () => {
  const namespace = await ownNamespace('runs-list');
  api = await startApi({ TEMPORAL_NAMESPACE: namespace });
  const em = api.deps.db.em;
  team = await createTeam(em);
  alice = await createUser(em, { teams: [team], role: 'operator', email: `alice-${crypto.randomUUID().slice(0, 6)}@example.test` });
  bob = await createUser(em, { teams: [team], role: 'approver', email: `bob-${crypto.randomUUID().slice(0, 6)}@example.test` });
  aliceToken = await tokenFor(api, alice.id);
  viewerToken = await tokenFor(api, (await createUser(em, { teams: [team], role: 'viewer' })).id);
  const rejected = { decision: 'rejected', by: bob.id, byEmail: bob.email, comment: 'not today', at: new Date(t0).toISOString() };
  await insert('network', { status: 'succeeded', by: alice, at: t0 - 3 * DAY, target: 'core-network' });
  await insert('rejected', { status: 'discarded', by: alice, at: t0 - 2 * DAY, target: 'edge-dns', approval: rejected });
  await insert('broken', { status: 'failed', by: bob, at: t0 - DAY, target: 'edge-cache', error: 'Error: Unsupported argument "colour"' });
  await insert('today', { status: 'succeeded', by: bob, at: t0, target: 'core-storage' });
});
afterAll(() => api.close());

describe('GET /api/v1/runs: search and filters', () => {
  it('keeps a rejected plan apart: status=discarded finds it, status=failed does not', async () => {
    expect(await list('status=discarded')).toEqual(['rejected']);
    expect(await list('status=failed')).toEqual(['broken']);
  });

  it('searches the target, the starter, the approver, the error and the id', async () => {
    expect(await list('q=edge')).toEqual(['broken', 'rejected']);
    expect(await list('q=EDGE%20dns')).toEqual(['rejected']);
    expect(await list(`q=${encodeURIComponent(bob.email.split('@')[0]!)}`)).toEqual(['today', 'broken', 'rejected']);
    expect(await list('q=colour')).toEqual(['broken']);
    expect(await list(`q=${ids.network!.slice(0, 8)}`)).toEqual(['network']);
    // LIKE's wildcards are literal characters in a search.
    expect(await list('q=%25')).toEqual([]);
  });

  it('filters by who started the run and by when it was created', async () => {
    expect(await list(`requestedBy=${encodeURIComponent(alice.email.toUpperCase())}`)).toEqual(['rejected', 'network']);
    expect(await list(`createdFrom=${new Date(t0 - 2 * DAY).toISOString()}&createdTo=${new Date(t0).toISOString()}`)).toEqual(['broken', 'rejected']);
    const bad = await client(api, aliceToken).get('/api/v1/runs?createdFrom=yesterday');
    expect([bad.status, bad.body.errors?.[0]?.field]).toEqual([400, 'createdFrom']);
  });
});

describe('time working and time waiting for approval', () => {
  it('counts the wait for approval apart from the work', async () => {
    await insert('timed', { status: 'queued', by: alice, at: Date.now(), target: `timed-${crypto.randomUUID().slice(0, 6)}` });
    const id = ids.timed!;
    const at = (ms: number, status: 'running' | 'awaiting_approval' | 'succeeded') => updateRunState(api.deps.db.em.fork(), id, { status }, new Date(ms));
    const start = Date.now() - 10 * 60_000;
    await at(start, 'running');
    await at(start + 2_000, 'awaiting_approval');
    // A repeated report of the same status (an activity retry) does not restart the wait.
    await at(start + 60_000, 'awaiting_approval');
    await at(start + 2_000 + 6 * 60_000, 'running');
    await at(start + 2_000 + 6 * 60_000 + 3_000, 'succeeded');
    const run = (await client(api, aliceToken).get(`/api/v1/runs/${id}`)).body;
    expect([run.waitingMs, run.workingMs, run.waitingSince]).toEqual([6 * 60_000, 5_000, null]);
  });
});

/** GET with exactly these request headers (fetch would add its own Accept-Encoding and decode the answer). */
const rawGet = (url: string, headers: Record<string, string>) =>
  new Promise<{ encoding: string | undefined; vary: string | undefined; json: unknown }>((resolve, reject) => {
    http.get(`${api.baseUrl}${url}`, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const bytes = Buffer.concat(chunks);
        const encoding = res.headers['content-encoding'];
        const decode = { zstd: zstdDecompressSync, br: brotliDecompressSync, gzip: gunzipSync }[encoding ?? ''] ?? ((b: Buffer) => b);
        resolve({ encoding, vary: res.headers.vary, json: JSON.parse(decode(bytes).toString()) });
      });
    }).on('error', reject);
  });

describe('a page read again from the cache', () => {
  it('answers the same runs in every encoding a client asks for, and keeps the clock of a run still working', async () => {
    const own = await createTeam(api.deps.db.em);
    const user = await createUser(api.deps.db.em, { teams: [own], role: 'operator' });
    const auth = { authorization: `Bearer ${await tokenFor(api, user.id)}` };
    const em = api.deps.db.em.fork();
    const runRow = (status: 'succeeded' | 'running', startedAt: Date, finishedAt: Date | null) =>
      em.create(RunSchema, {
        id: crypto.randomUUID(), kind: 'terraform', team: em.getReference(TeamSchema, own.id), status, target: `t-${crypto.randomUUID().slice(0, 6)}`, activeTarget: null,
        params: { workspace: 'w', files: simpleConfig(), variables: {}, autoApply: false }, requestedBy: em.getReference(UserSchema, user.id),
        requester: { type: 'user', id: user.id, label: 'fixture@example.test' }, startedAt, finishedAt,
      });
    const ended = [1, 2, 3].map((i) => runRow('succeeded', new Date(t0 + i * 1_000), new Date(t0 + i * 61_000)));
    await em.flush();
    const url = `/api/v1/runs?team=${own.slug}`;
    const plain = await rawGet(url, auth);
    expect(plain.encoding).toBeUndefined();
    expect((plain.json as { runs: { id: string; workingMs: number }[] }).runs.map((r) => r.id).sort()).toEqual(ended.map((r) => r.id).sort());
    for (const encoding of ['zstd', 'br', 'gzip', 'gzip, deflate, br, zstd']) {
      const answer = await rawGet(url, { ...auth, 'accept-encoding': encoding });
      expect([answer.encoding, answer.vary, answer.json]).toEqual([encoding.includes(',') ? 'zstd' : encoding, expect.stringContaining('Accept-Encoding'), plain.json]);
    }

    // A run still working: its workingMs grows between two reads of the same cached page.
    const working = runRow('running', new Date(Date.now() - 60_000), null);
    await em.flush();
    // Rows inserted here bypass the change feed that drops cached pages; the page is dropped by hand.
    await api.deps.cache.invalidate([cacheTags.runs(own.id)]);
    const workingMs = async () => ((await rawGet(url, { ...auth, 'accept-encoding': 'zstd' })).json as { runs: { id: string; workingMs: number }[] }).runs.find((r) => r.id === working.id)!.workingMs;
    let last = await workingMs();
    expect(last).toBeGreaterThanOrEqual(60_000);
    // Several reads: the first after a miss answers the freshly read page, the later ones the cached one.
    for (let read = 0; read < 4; read++) {
      const before = last;
      last = await until('the working run\'s clock to move on a cached page', async () => {
        const now = await workingMs();
        return now > before ? now : undefined;
      }, 5_000, 5);
    }
  });
});

describe('a rejected plan', () => {
  it('counts as a discarded outcome, not a failure, and ends its wait for approval', async () => {
    await insert('outcome', { status: 'awaiting_approval', by: alice, at: Date.now(), target: `outcome-${crypto.randomUUID().slice(0, 6)}` });
    await updateRunState(api.deps.db.em.fork(), ids.outcome!, { status: 'awaiting_approval' }, new Date(Date.now() - 30_000));
    const metrics = createMetrics();
    const approval = { decision: 'rejected' as const, by: bob.id, byEmail: bob.email, comment: 'no', at: new Date().toISOString() };
    await applyRunState({ em: api.deps.db.em, redis: api.deps.redis, keys: api.deps.keys, events: api.deps.events, logger: api.deps.logger, metrics }, { runId: ids.outcome!, status: 'discarded', approval }, `test:${ids.outcome}`);
    const counted = await metrics.registry.getSingleMetricAsString('opssight_run_outcomes_total');
    expect(counted).toContain('opssight_run_outcomes_total{kind="terraform",status="discarded"} 1');
    expect(counted).not.toContain('status="failed"');
    const run = (await client(api, aliceToken).get(`/api/v1/runs/${ids.outcome}`)).body;
    expect([run.status, run.waitingSince, run.waitingMs >= 30_000]).toEqual(['discarded', null, true]);
  });
});

describe('POST /api/v1/runs/:id/rerun', () => {
  it('starts a new run with the same inputs, as the caller', async () => {
    const res = await client(api, aliceToken).post(`/api/v1/runs/${ids.broken}/rerun`);
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`/api/v1/runs/${res.body.id}`);
    const source = (await client(api, aliceToken).get(`/api/v1/runs/${ids.broken}`)).body;
    expect(res.body).toMatchObject({ kind: 'terraform', team: team.slug, status: 'queued', target: 'edge-cache', params: source.params, requestedBy: { id: alice.id } });
    expect(res.body.id).not.toBe(ids.broken);
    // The target is now busy: a second re-run meets the one-active-run rule.
    const again = await client(api, aliceToken).post(`/api/v1/runs/${ids.broken}/rerun`);
    expect([again.status, again.body.activeRunId]).toEqual([409, res.body.id]);
    await api.deps.temporal.workflow.getHandle(res.body.id).terminate('test over');
  });

  it('is refused to a viewer (403) and for a run of another team (404)', async () => {
    expect((await client(api, viewerToken).post(`/api/v1/runs/${ids.network}/rerun`)).status).toBe(403);
    const stranger = await tokenFor(api, (await createUser(api.deps.db.em, { teams: [await createTeam(api.deps.db.em)], role: 'admin' })).id);
    expect((await client(api, stranger).post(`/api/v1/runs/${ids.network}/rerun`)).status).toBe(404);
  });
});
