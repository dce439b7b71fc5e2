import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import type { Metrics } from '../../core/metrics.ts';
import { createTokenService } from '../../core/tokens.ts';
import { insertRunEvents } from '../../db/repositories/run-events.ts';
import { findRun } from '../../db/repositories/runs.ts';
import { createRunRow } from '../fixtures/runs.ts';
import { bearer } from '../fixtures/ws.ts';
import { sessionFor, tokenFor } from '../fixtures/http.ts';
import { createUser } from '../fixtures/users.ts';
import { startApi, type TestApi } from '../peers/stack.ts';

// Two instances: a paused client also stops answering pings, so the slow-consumer one pings rarely.
let slowApi: TestApi;
let pingApi: TestApi;
beforeAll(async () => {
  [slowApi, pingApi] = await Promise.all([
    startApi({ WS_MAX_BUFFERED_BYTES: String(64 * 1024), WS_PING_INTERVAL_MS: '60000' }),
    // Short, so the test is quick; not so short that a busy CI machine delays a pong past it.
    startApi({ WS_PING_INTERVAL_MS: '1000' }),
  ]);
});
afterAll(() => Promise.all([slowApi.close(), pingApi.close()]));

async function viewerOfNewRun(api: TestApi) {
  const runId = await createRunRow(api.deps.db.em);
  const team = (await findRun(api.deps.db.em.fork(), runId))!.team as unknown as { id: string };
  const user = await createUser(api.deps.db.em, { teams: [team], role: 'viewer' });
  return { runId, token: await tokenFor(api, user.id) };
}

async function disconnects(metrics: Metrics, reason: string): Promise<number> {
  const { values } = await metrics.wsDisconnects.get();
  return values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

function opened(url: string, token: string, opts: WebSocket.ClientOptions = {}) {
  const ws = new WebSocket(url, bearer(token), opts);
  let socket: Socket | undefined;
  ws.on('upgrade', (res) => (socket = res.socket as Socket));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  const open = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, open, closed, socket: () => socket! };
}

describe('/ws limits', () => {
  it('disconnects a client that stops reading with 4008 and a reason once its buffer passes the limit', async () => {
    const { runId, token } = await viewerOfNewRun(slowApi);
    const client = opened(slowApi.wsUrl, token);
    await client.open;
    const subscribed = new Promise((resolve) => client.ws.on('message', (d) => String(d).includes('"subscribed"') && resolve(null)));
    client.ws.send(JSON.stringify({ op: 'subscribe', runId, after: 0 }));
    await subscribed;
    let received = 0;
    client.ws.on('message', () => received++);

    client.socket().pause();
    const line = 'x'.repeat(16 * 1024);
    const before = await disconnects(slowApi.deps.metrics, 'slow_consumer');
    let appended = 0;
    // Kernel socket buffers on loopback absorb a few MB before the server's own buffer grows.
    for (let batch = 0; batch < 400 && (await disconnects(slowApi.deps.metrics, 'slow_consumer')) === before; batch++) {
      await slowApi.deps.events.append(runId, Array.from({ length: 20 }, () => ({ type: 'log' as const, level: 'info' as const, message: line, attempt: 1 })));
      appended += 20;
    }
    expect(await disconnects(slowApi.deps.metrics, 'slow_consumer')).toBe(before + 1);

    client.socket().resume();
    const { code, reason } = await client.closed;
    expect(code).toBe(4008);
    expect(reason).toMatch(/^slow consumer/);
    expect(received).toBeLessThan(appended);
  });

  it('pings clients, keeps those that answer and terminates one that stops answering', async () => {
    const { token } = await viewerOfNewRun(pingApi);
    // Read before the sockets open: the mute one may be cut off within the first interval.
    const before = await disconnects(pingApi.deps.metrics, 'ping_timeout');
    const healthy = opened(pingApi.wsUrl, token);
    const mute = opened(pingApi.wsUrl, token, { autoPong: false });
    await Promise.all([healthy.open, mute.open]);

    let pings = 0;
    const threePings = new Promise((resolve) => healthy.ws.on('ping', () => ++pings === 3 && resolve(null)));
    const { code } = await mute.closed;
    expect(code).toBe(1006);
    expect(await disconnects(pingApi.deps.metrics, 'ping_timeout')).toBe(before + 1);
    // Were the answering client cut off too, no ping would come again: say so instead of waiting forever.
    await Promise.race([threePings, healthy.closed.then(({ code: c }) => Promise.reject(new Error(`the client that answers pings was closed (${c}) after ${pings} ping(s)`)))]);
    expect(healthy.ws.readyState).toBe(WebSocket.OPEN);
    expect((await pingApi.deps.metrics.wsConnections.get()).values[0]?.value).toBe(1);

    healthy.ws.close();
    await healthy.closed;
  });

  it('delivers an event whose Redis publish was lost even when nothing follows it, from PostgreSQL', async () => {
    const { runId, token } = await viewerOfNewRun(pingApi);
    const client = opened(pingApi.wsUrl, token);
    await client.open;
    await pingApi.deps.events.append(runId, [{ type: 'log', level: 'info', message: 'first', attempt: 1 }]);
    const seqs: number[] = [];
    const got = new Promise((resolve) =>
      client.ws.on('message', (d) => {
        const m = JSON.parse(String(d)) as { op: string; event?: { seq: number } };
        if (m.op !== 'event') return;
        seqs.push(m.event!.seq);
        // Replayed seq 1 is the last event the reader will ever see; seq 2 is committed but never XADDed.
        if (seqs.length === 1) void insertRunEvents(pingApi.deps.db.em.fork(), runId, [{ type: 'status', level: 'info', message: 'last words', attempt: 1 }]);
        else resolve(null);
      }),
    );
    client.ws.send(JSON.stringify({ op: 'subscribe', runId, after: 0 }));
    await got;
    expect(seqs).toEqual([1, 2]);
    client.ws.close();
    await client.closed;
   }, 15_000);

  it('closes the socket with 4001 when the access token it was opened with expires', async () => {
    const { runId } = await viewerOfNewRun(pingApi);
    const owner = (await findRun(pingApi.deps.db.em.fork(), runId))!.requestedBy as unknown as { id: string };
    // exp is in whole seconds: a 1-s token signed late in a second is valid for only part of it, and
    // under load the socket opened after that (CI-B: refused with 401). Two seconds leave at least one.
    const shortLived = createTokenService({ secret: pingApi.config.JWT_SECRET, ttlSeconds: 2 });
    const { family } = await sessionFor(pingApi, owner.id);
    const client = opened(pingApi.wsUrl, (await shortLived.signAccess(owner.id, family)).token);
    await client.open;
    const { code, reason } = await client.closed;
    expect(code).toBe(4001);
    expect(reason).toBe('access token expired');
  });

  it('closes the socket with 4001 once its access token is revoked (logout), within a ping interval', async () => {
    const { token } = await viewerOfNewRun(pingApi);
    const client = opened(pingApi.wsUrl, token);
    await client.open;
    const logout = await fetch(`${pingApi.baseUrl}/api/v1/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    expect(logout.status).toBeLessThan(300);
    const { code, reason } = await client.closed;
    expect(code).toBe(4001);
    expect(reason).toBe('session revoked');
    expect(await disconnects(pingApi.deps.metrics, 'token_revoked')).toBeGreaterThanOrEqual(1);
  });
});
