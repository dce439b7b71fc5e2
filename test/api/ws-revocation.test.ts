import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { findRun } from '../../db/repositories/runs.ts';
import { client, tokenFor } from '../fixtures/http.ts';
import { createRunRow } from '../fixtures/runs.ts';
import { createUser, PASSWORD } from '../fixtures/users.ts';
import { connectWs } from '../fixtures/ws.ts';
import { startApi, type TestApi } from '../peers/stack.ts';

// Two API processes, as behind a load balancer: the socket is open on one, the session ends through
// the other. Pings are a minute apart, so only the revocation itself can close the socket in time.
let a: TestApi;
let b: TestApi;
let admin: string;
beforeAll(async () => {
  [a, b] = await Promise.all([startApi({ WS_PING_INTERVAL_MS: '60000' }), startApi({ WS_PING_INTERVAL_MS: '60000' })]);
  admin = await tokenFor(a, (await createUser(a.deps.db.em, { role: 'platform-admin' })).id);
});
afterAll(() => Promise.all([a.close(), b.close()]));

/** A viewer of a run's team, signed in through the API, with a socket on `b` subscribed to the run. */
async function watcher() {
  const runId = await createRunRow(a.deps.db.em);
  const team = (await findRun(a.deps.db.em.fork(), runId))!.team as unknown as { id: string };
  const user = await createUser(a.deps.db.em, { teams: [team], role: 'viewer' });
  const session = (await client(a).post('/api/v1/auth/login', { email: user.email, password: PASSWORD })).body as { accessToken: string };
  const ws = await connectWs(b.wsUrl, session.accessToken);
  ws.send({ op: 'subscribe', runId, after: 0 });
  await ws.waitFor(() => ws.messages.find((m) => m.op === 'subscribed'), 'subscribed');
  return { user, token: session.accessToken, ws };
}

/**
 * How long after `act` answered (the session is revoked by then) the socket closed, and with what; at
 * most 0 when it closed first. Not from the start of `act`: a password change spends most of its time
 * hashing the new password before it revokes anything.
 */
async function closedWithin(ws: Awaited<ReturnType<typeof watcher>>['ws'], act: () => Promise<unknown>) {
  const closedAt = ws.closed.then((c) => ({ ...c, at: Date.now() }));
  await act();
  const answeredAt = Date.now();
  const { code, reason, at } = await closedAt;
  return { code, reason, ms: Math.max(0, at - answeredAt) };
}

describe('ending a session closes its sockets in every API process within a second', () => {
  it('logout', async () => {
    const { token, ws } = await watcher();
    const closed = await closedWithin(ws, () => client(a, token).post('/api/v1/auth/logout'));
    expect(closed).toEqual({ code: 4001, reason: 'session revoked', ms: expect.any(Number) });
    expect(closed.ms).toBeLessThan(1_000);
  });

  it('disabling the user', async () => {
    const { user, ws } = await watcher();
    const closed = await closedWithin(ws, async () => {
      const res = await fetch(`${a.baseUrl}/api/v1/users/${user.id}`, { method: 'PATCH', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: '{"disabled":true}' });
      expect(res.status).toBe(200);
    });
    expect(closed.code).toBe(4001);
    expect(closed.ms).toBeLessThan(1_000);
  });

  it('a password change ends the other sessions’ sockets and keeps the one that made it', async () => {
    const { user, ws } = await watcher();
    const mine = (await client(a).post('/api/v1/auth/login', { email: user.email, password: PASSWORD })).body as { accessToken: string };
    const own = await connectWs(b.wsUrl, mine.accessToken);
    const closed = await closedWithin(ws, async () => {
      const res = await client(a, mine.accessToken).post('/api/v1/auth/password', { currentPassword: PASSWORD, newPassword: 'another long passphrase' });
      expect(res.status).toBe(204);
    });
    expect(closed.code).toBe(4001);
    expect(closed.ms).toBeLessThan(1_000);
    // Still open: it answers.
    own.send({ op: 'subscribe', topic: 'runs' });
    await own.waitFor(() => own.messages.find((m) => m.op === 'subscribed'), 'own socket still answering');
    await own.close();
  });

  it('a socket opened with an already revoked session is refused', async () => {
    const { token, ws } = await watcher();
    await closedWithin(ws, () => client(a, token).post('/api/v1/auth/logout'));
    await expect(connectWs(b.wsUrl, token)).rejects.toThrow(/401/);
  });
});
