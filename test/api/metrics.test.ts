import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { client, tokenFor } from '../fixtures/http.ts';
import { insertRun } from '../fixtures/runs.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { startApi, type TestApi } from '../peers/stack.ts';

// GET /api/v1/metrics over rows inserted directly: what it counts, per team the caller can see.
let api: TestApi;
const HOUR = 3_600_000;

beforeAll(async () => {
  api = await startApi();
});
afterAll(async () => {
  await api?.close();
});

it('counts runs per kind and status and per day, times finished runs without their approval wait, and shows the queue, for visible teams only', async () => {
  const em = api.deps.db.em;
  const [mine, other] = [await createTeam(em), await createTeam(em)];
  const viewer = await createUser(em, { teams: [mine], role: 'viewer' });
  const now = Date.now();
  const finished = (startedAgo: number, workMs: number, waitingMs = 0) => {
    const startedAt = new Date(now - startedAgo);
    return { startedAt, finishedAt: new Date(startedAt.getTime() + workMs + waitingMs), waitingMs, createdAt: startedAt };
  };
  // Four finished terraform runs of 1, 2, 3 and 4 minutes of work (the last waited an hour for approval).
  await insertRun(em, mine, viewer.id, { kind: 'terraform', status: 'succeeded', ...finished(2 * HOUR, 60_000) });
  await insertRun(em, mine, viewer.id, { kind: 'terraform', status: 'succeeded', ...finished(2 * HOUR, 120_000) });
  await insertRun(em, mine, viewer.id, { kind: 'terraform', status: 'failed', ...finished(2 * HOUR, 180_000) });
  await insertRun(em, mine, viewer.id, { kind: 'terraform', status: 'succeeded', ...finished(3 * HOUR, 240_000, HOUR) });
  await insertRun(em, mine, viewer.id, { kind: 'ansible', status: 'running', startedAt: new Date(now - 1_000) });
  await insertRun(em, mine, viewer.id, { kind: 'ansible', status: 'awaiting_approval', startedAt: new Date(now - 1_000) });
  // Long ago: outside a 7-day window.
  await insertRun(em, mine, viewer.id, { kind: 'terraform', status: 'succeeded', ...finished(30 * 24 * HOUR, 1_000) });
  // Another team's: never counted for this viewer.
  await insertRun(em, other, viewer.id, { kind: 'terraform', status: 'failed', ...finished(HOUR, 1_000) });
  await insertRun(em, other, viewer.id, { kind: 'terraform', status: 'queued' });

  const res = await client(api, await tokenFor(api, viewer.id)).get('/api/v1/metrics?days=7');
  expect(res.status).toBe(200);
  expect(res.body.byKindStatus).toEqual([
    { kind: 'ansible', status: 'awaiting_approval', runs: 1 },
    { kind: 'ansible', status: 'running', runs: 1 },
    { kind: 'terraform', status: 'failed', runs: 1 },
    { kind: 'terraform', status: 'succeeded', runs: 3 },
  ]);
  const tf = res.body.durations.find((d: { kind: string }) => d.kind === 'terraform');
  expect(tf).toEqual({ kind: 'terraform', runs: 4, p50Ms: 150_000, p95Ms: 231_000, maxMs: 240_000 });
  expect(res.body.perDay.reduce((n: number, d: { runs: number }) => n + d.runs, 0)).toBe(6);
  expect(res.body.perDay.reduce((n: number, d: { failed: number }) => n + d.failed, 0)).toBe(1);
  expect(res.body.active).toEqual({ queued: 0, running: 1, awaitingApproval: 1 });

  // Narrowed to a team the viewer cannot see: nothing, not the other team's figures.
  const hidden = await client(api, await tokenFor(api, viewer.id)).get(`/api/v1/metrics?team=${other.slug}`);
  expect(hidden.body).toMatchObject({ byKindStatus: [], durations: [], perDay: [], active: { queued: 0, running: 0, awaitingApproval: 0 } });

  const bad = await client(api, await tokenFor(api, viewer.id)).get('/api/v1/metrics?days=365');
  expect(bad.status).toBe(400);
  expect(bad.body.errors[0].field).toBe('days');
});
