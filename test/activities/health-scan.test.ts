import http from 'node:http';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { ActivityCancellationDetails } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { healthScanParamsSchema } from '../../contracts/kinds/health-scan.ts';
import { createRunWithTeam } from '../fixtures/runs.ts';
import { workerActivities, type WorkerActivities } from '../peers/activities.ts';
import { peerContext } from '../peers/context.ts';

// A scan whose probes are cut short by the worker shutting down (or a cancel) must not count them:
// they failed because the attempt was stopped, not because the service is down.
let ctx: Awaited<ReturnType<typeof peerContext>>;
let w: WorkerActivities;
let server: http.Server;
let port: number;
let asked: () => void;
const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };

beforeAll(async () => {
  ctx = await peerContext();
  w = await workerActivities(ctx);
  // Answers nothing until the probe gives up: the scan is mid-probe for as long as the test needs.
  server = http.createServer(() => asked());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});
afterAll(async () => {
  server?.closeAllConnections();
  server?.close();
  await w?.close();
  await ctx?.close();
});

it.each([
  ['the worker shutting down', new ActivityCancellationDetails({ workerShutdown: true }), /interrupted before its results were counted/],
  ['a cancel', new ActivityCancellationDetails({ cancelRequested: true }), /cancelled before its results were counted/],
])('probes cut short by %s are not counted: no check marked, nothing raised', async (_what, details, message) => {
  const { runId, teamId } = await createRunWithTeam(ctx.db.em, 'health-scan');
  const monitor = `shop-${crypto.randomUUID().slice(0, 6)}`;
  const params = healthScanParamsSchema.parse({ monitor, failuresBeforeDown: 1, checks: { web: { type: 'http', url: `http://127.0.0.1:${port}/healthz`, timeoutMs: 30_000 } } });
  const env = new MockActivityEnvironment({ attempt: 1, heartbeatTimeoutMs: 30_000 }, { logger: quiet });
  const probing = new Promise<void>((resolve) => (asked = resolve));
  const scan = env.run(w.activities.runHealthScan, { runId, teamId, params });
  await probing;
  env.cancel(details.cancelRequested ? 'CANCELLED' : 'WORKER_SHUTDOWN', details);
  await expect(scan).rejects.toThrow(message);
  const rows = await ctx.db.em.getConnection().execute('select 1 from monitor_checks where team_id = ? and monitor = ?', [teamId, monitor]);
  expect(rows).toEqual([]);
});
