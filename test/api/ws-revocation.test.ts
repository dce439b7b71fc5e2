import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { findRun } from '../../db/repositories/runs.ts';
import { client, tokenFor } from '../fixtures/http.ts';
import { createRunRow } from '../fixtures/runs.ts';
import { createTeam, createUser, PASSWORD } from '../fixtures/users.ts';
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

describe('a change of access reaches open sockets in every API process at once', () => {
  it('a member removed from a team stops receiving its runs and run list, and cannot subscribe again', async () => {
    const runId = await createRunRow(a.deps.db.em);
    const teamRef = (await findRun(a.deps.db.em.fork(), runId))!.team as unknown as { id: string };
    const [row] = await a.deps.db.em.getConnection().execute<{ slug: string }[]>('select slug from teams where id = ?', [teamRef.id]);
    const slug = row!.slug;
    const other = await createTeam(a.deps.db.em);
    const removed = await createUser(a.deps.db.em, { teams: [teamRef, other], role: 'viewer' });
    const stays = await createUser(a.deps.db.em, { teams: [teamRef], role: 'viewer' });
    const socketOf = async (email: string) => {
      const session = (await client(a).post('/api/v1/auth/login', { email, password: PASSWORD })).body as { accessToken: string };
      const ws = await connectWs(b.wsUrl, session.accessToken);
      ws.send({ op: 'subscribe', runId, after: 0 });
      ws.send({ op: 'subscribe', topic: 'runs' });
      await ws.waitFor(() => (ws.messages.filter((m) => m.op === 'subscribed').length === 2 ? true : undefined), 'subscribed');
      return ws;
    };
    const [gone, kept] = [await socketOf(removed.email), await socketOf(stays.email)];

    const res = await client(a, admin).del(`/api/v1/teams/${slug}/members/${removed.id}`);
    expect(res.status).toBe(204);
    const answeredAt = Date.now();
    await gone.waitFor(() => gone.messages.find((m) => m.op === 'error' && m.runId === runId), 'the run subscription to end');
    expect(Date.now() - answeredAt).toBeLessThan(1_000);

    const announce = (id: string, team: string) =>
      a.deps.redis.publish(a.deps.keys.runsChannel, JSON.stringify({ op: 'run', run: { id, status: 'running', kind: 'terraform', team, target: 'ws', step: null } }));
    const seen = gone.messages.length;
    await a.deps.events.append(runId, [{ type: 'log', level: 'info', stream: 'stdout', message: 'after the removal', attempt: 1 }]);
    await announce(runId, slug);
    // The same channel, in order: once the other team's announcement is here, the first one was not sent.
    await announce('r-other', other.slug);
    await gone.waitFor(() => gone.messages.find((m) => m.op === 'run' && m.run.id === 'r-other'), 'the other team\'s announcement');
    await kept.waitFor(() => kept.messages.find((m) => m.op === 'run' && m.run.id === runId), 'the announcement, to the member who stays');
    await kept.waitForEvent(runId, (e) => e.message === 'after the removal', 'the event, to the member who stays');
    expect(gone.messages.slice(seen).map((m) => (m.op === 'run' ? m.run.id : m.op))).toEqual(['r-other']);

    gone.send({ op: 'subscribe', runId, after: 0 });
    await gone.waitFor(() => (gone.messages.filter((m) => m.op === 'error' && m.runId === runId).length === 2 ? true : undefined), 'the refusal');
    expect(gone.messages.filter((m) => m.op === 'subscribed' && 'runId' in m && m.runId === runId)).toHaveLength(1);
    await Promise.all([gone.close(), kept.close()]);
  });
});
