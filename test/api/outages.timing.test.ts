import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import WebSocket from 'ws';
import { migrateUp } from '../../db/orm.ts';
import { RunSchema } from '../../db/entities/index.ts';
import { client, tokenFor } from '../fixtures/http.ts';
import { simpleConfig } from '../fixtures/terraform.ts';
import { until } from '../fixtures/until.ts';
import { createTeam, createUser, PASSWORD } from '../fixtures/users.ts';
import { bearer, connectWs } from '../fixtures/ws.ts';
import { startOwnPostgres, type OwnPostgres } from '../peers/own-postgres.ts';
import { PRINCIPAL_TTL_MS } from '../../core/principal.ts';
import { startOwnRedis, type OwnRedis } from '../peers/own-redis.ts';
import { startApi, type TestApi } from '../peers/stack.ts';
import { startTemporalDevServer } from '../peers/temporal.ts';

// The API on a PostgreSQL, a Redis and a Temporal of this test's own, each stopped in turn: what
// cannot be answered is a 503 with Retry-After within the configured timeout (never a 500, never a
// hang), what can be answered without the missing peer still is, and everything works again once
// it is back.
const DEPENDENCY_TIMEOUT_MS = 2_000;
const TEMPORAL_TIMEOUT_MS = 3_000;
/** Slack for a loaded 2-core machine on top of the configured timeout. */
const SLACK_MS = 2_500;

let pg: OwnPostgres;
let redis: OwnRedis;
let temporal: Awaited<ReturnType<typeof startTemporalDevServer>>;
let api: TestApi;
let team: { id: string; slug: string };
let user: { id: string; email: string };
let token: string;

beforeAll(async () => {
  [pg, redis, temporal] = await Promise.all([startOwnPostgres(), startOwnRedis(), startTemporalDevServer(process.env.TEMPORAL_BIN ?? '.tools/bin/temporal')]);
  await migrateUp(pg.url());
  api = await startApi({
    DATABASE_URL: pg.url(),
    REDIS_URL: redis.url,
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_NAMESPACE: 'default',
    DEPENDENCY_TIMEOUT_MS: String(DEPENDENCY_TIMEOUT_MS),
    TEMPORAL_TIMEOUT_MS: String(TEMPORAL_TIMEOUT_MS),
    WS_PING_INTERVAL_MS: '60000',
  });
  team = await createTeam(api.deps.db.em);
  user = await createUser(api.deps.db.em, { teams: [team], role: 'admin' });
  token = await tokenFor(api, user.id);
}, 120_000);
afterAll(async () => {
  await api?.close();
  pg?.destroy();
  await Promise.all([redis?.stop(), temporal?.stop()]);
});

type Answer = { status: number; retryAfter: string | null; ms: number };
async function timed(send: () => Promise<{ status: number; headers: Headers }>): Promise<Answer> {
  const started = Date.now();
  const res = await send();
  return { status: res.status, retryAfter: res.headers.get('retry-after'), ms: Date.now() - started };
}
const get = (path: string, bearerToken: string | undefined = token) => timed(() => client(api, bearerToken).get(path));
const post = (path: string, body: unknown, bearerToken: string | undefined = token) => timed(() => client(api, bearerToken).post(path, body));
const startRun = () => post('/api/v1/runs', { kind: 'terraform', team: team.slug, params: { workspace: `ws-${crypto.randomUUID().slice(0, 8)}`, files: simpleConfig() } });
const login = () => post('/api/v1/auth/login', { email: user.email, password: PASSWORD }, undefined);

/** The /ws upgrade's answer: 101 when it opened, else the HTTP status and Retry-After it was refused with. */
function upgrade(): Promise<Answer> {
  const started = Date.now();
  return new Promise((resolve) => {
    const ws = new WebSocket(api.wsUrl, bearer(token));
    ws.on('open', () => {
      resolve({ status: 101, retryAfter: null, ms: Date.now() - started });
      ws.close();
    });
    ws.on('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0, retryAfter: (res.headers['retry-after'] as string | undefined) ?? null, ms: Date.now() - started });
      res.resume();
      ws.terminate();
    });
    ws.on('error', () => undefined);
  });
}

/** Every answer is 503 with Retry-After, within the timeout plus slack. */
function expectUnavailable(answers: Record<string, Answer>, timeoutMs: number): void {
  for (const [what, a] of Object.entries(answers)) {
    expect({ what, status: a.status, retryAfter: a.retryAfter }).toEqual({ what, status: 503, retryAfter: expect.stringMatching(/^[1-9]\d*$/) });
    expect({ what, fast: a.ms < timeoutMs + SLACK_MS }).toEqual({ what, fast: true });
  }
}

describe('Redis down', () => {
  it('authentication, rate limits and runs work from PostgreSQL; /ws answers 503; all back when Redis is', async () => {
    const watcherToken = (await client(api).post('/api/v1/auth/login', { email: user.email, password: PASSWORD })).body.accessToken as string;
    const watcher = await connectWs(api.wsUrl, watcherToken);
    const loggedIn = (await client(api).post('/api/v1/auth/login', { email: user.email, password: PASSWORD })).body as { accessToken: string };
    await redis.stop();

    const working = { me: await get('/api/v1/me'), runs: await get('/api/v1/runs'), login: await login(), start: await startRun() };
    expect(Object.fromEntries(Object.entries(working).map(([k, a]) => [k, a.status]))).toEqual({ me: 200, runs: 200, login: 200, start: 201 });
    for (const a of Object.values(working)) expect(a.ms).toBeLessThan(DEPENDENCY_TIMEOUT_MS + SLACK_MS);
    // Revocation is read from PostgreSQL: a logout holds at once, Redis or not.
    expect((await post('/api/v1/auth/logout', {}, loggedIn.accessToken)).status).toBe(204);
    expect((await get('/api/v1/me', loggedIn.accessToken)).status).toBe(401);
    // Live events need Redis: the socket is refused with a reason to retry, not opened to stay silent.
    expectUnavailable({ ws: await upgrade(), health: await get('/health/detailed') }, DEPENDENCY_TIMEOUT_MS);

    // A socket that was open finds out its session ended from PostgreSQL (checked every second while
    // the revocation channel is down), not only at the next ping.
    const closing = Date.now();
    expect((await post('/api/v1/auth/logout', {}, watcherToken)).status).toBe(204);
    expect((await watcher.closed).code).toBe(4001);
    expect(Date.now() - closing).toBeLessThan(2_000 + SLACK_MS);

    await redis.start();
    await until('the /ws upgrade to work again', async () => ((await upgrade()).status === 101 ? true : undefined), 30_000, 200);
    expect((await get('/health/detailed')).status).toBe(200);
  });
});

describe('PostgreSQL down', () => {
  it('every route that needs it, and /ws, answer 503 with Retry-After; liveness stays up; all back when it is', async () => {
    pg.stop();
    // A principal checked in the last PRINCIPAL_TTL_MS may still be served from the cache (the bound on
    // how long any revocation takes); past it, authentication needs PostgreSQL again.
    await until('authentication to need PostgreSQL', async () => ((await get('/api/v1/me')).status === 503 ? true : undefined), PRINCIPAL_TTL_MS + SLACK_MS, 50);
    expectUnavailable(
      { me: await get('/api/v1/me'), runs: await get('/api/v1/runs'), start: await startRun(), login: await login(), ws: await upgrade(), health: await get('/health/detailed') },
      DEPENDENCY_TIMEOUT_MS,
    );
    expect((await get('/health')).status).toBe(200);

    await pg.start();
    await until('the API to answer from PostgreSQL again', async () => ((await get('/api/v1/me')).status === 200 ? true : undefined), 30_000, 200);
    expect((await upgrade()).status).toBe(101);
    expect((await startRun()).status).toBe(201);
  });
});

describe('Temporal down', () => {
  it('starting and cancelling answer 503 within TEMPORAL_TIMEOUT_MS and leave no run pretending to be queued; reads work', async () => {
    const started = await client(api, token).post('/api/v1/runs', { kind: 'terraform', team: team.slug, params: { workspace: `ws-${crypto.randomUUID().slice(0, 8)}`, files: simpleConfig() } });
    expect(started.status).toBe(201);
    // As if its workflow had reached the approval gate (no worker runs here): a decision is then
    // recorded on the row and signalled; the signal needs Temporal, and a failed one undoes the record.
    await api.deps.db.em.fork().getConnection().execute(`update runs set status = 'awaiting_approval' where id = ?`, [started.body.id]);
    await temporal.stop();

    const start = await startRun();
    expectUnavailable({ start, cancel: await post(`/api/v1/runs/${started.body.id}/cancel`, {}), reject: await post(`/api/v1/runs/${started.body.id}/reject`, {}) }, TEMPORAL_TIMEOUT_MS);
    expect((await api.deps.db.em.fork().findOne(RunSchema, { id: started.body.id }))?.approval).toBeNull();
    const failed = await api.deps.db.em.fork().find(RunSchema, { team: team.id, status: 'failed' });
    expect(failed.map((r) => r.error)).toContain('the workflow could not be started');
    expect(Object.fromEntries(Object.entries({ me: await get('/api/v1/me'), runs: await get('/api/v1/runs') }).map(([k, a]) => [k, a.status]))).toEqual({ me: 200, runs: 200 });

    temporal = await startTemporalDevServer(process.env.TEMPORAL_BIN ?? '.tools/bin/temporal', { port: temporal.port, dir: temporal.dir });
    await until('runs to start again', async () => ((await startRun()).status === 201 ? true : undefined), 60_000, 500);
  });
});
