import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { verify } from '../../activities/deploy/verify.ts';

// A deploy cancelled while its verification waits on a check or a Prometheus query must end cancelled:
// the aborted request is the cancel, not a failed check (which would fail the run and roll it back
// "because verification failed"). Against a real HTTP server that holds its answers.
let server: http.Server;
let url = '';
const asked: Array<() => void> = [];
beforeAll(async () => {
  server = http.createServer((req) => {
    // Never answered: the request stays in flight until the client gives up.
    asked.shift()?.();
    req.resume();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const cancelledWhileAsking = async (v: Parameters<typeof verify>[0]) => {
  const controller = new AbortController();
  const reason = new Error('the run was cancelled');
  asked.push(() => controller.abort(reason));
  const outcome = await verify(v, () => undefined, controller.signal).then(() => 'passed', (err: unknown) => err);
  return { outcome, reason };
};

it('an HTTP check in flight when the deploy is cancelled ends it with the cancel, not a failed check', async () => {
  const { outcome, reason } = await cancelledWhileAsking({ durationSeconds: 30, intervalSeconds: 5, checks: [{ url: `${url}/health`, expectStatus: 200 }] });
  expect(outcome).toBe(reason);
});

it('a Prometheus query in flight when the deploy is cancelled ends it with the cancel, not a failed query', async () => {
  const { outcome, reason } = await cancelledWhileAsking({ durationSeconds: 30, intervalSeconds: 5, checks: [], prometheus: { url, query: 'up', threshold: 1 } });
  expect(outcome).toBe(reason);
});
