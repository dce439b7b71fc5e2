import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import type { NewRunEvent, RunEvent } from '../../contracts/events.ts';
import { insertRunEvents } from '../../db/repositories/run-events.ts';
import { findRun } from '../../db/repositories/runs.ts';
import { createRunRow } from '../fixtures/runs.ts';
import { bearer } from '../fixtures/ws.ts';
import { tokenFor } from '../fixtures/http.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { startApi, type TestApi } from '../peers/stack.ts';

const UI_ORIGIN = 'https://ui.opssight.test';
let api: TestApi;
beforeAll(async () => {
  api = await startApi({ CORS_ORIGINS: UI_ORIGIN, WS_MAX_BUFFERED_BYTES: String(256 * 1024) });
});
afterAll(() => api.close());

type Msg = { op: string; runId?: string; event?: RunEvent; run?: { id: string; team: string }; message?: string; topic?: string };

/** A real ws client that records every message; `until` resolves when a condition over them holds. */
class Client {
  readonly ws: WebSocket;
  readonly messages: Msg[] = [];
  /** Browsers hand a binary frame to the page as a Blob, which the dashboard cannot parse: every message must be text. */
  binaryFrames = 0;
  socket: Socket | undefined;
  closed: { code: number; reason: string } | undefined;
  private checks = new Set<() => void>();

  constructor(url: string, opts: WebSocket.ClientOptions = {}, protocols?: string[]) {
    this.ws = new WebSocket(url, protocols, opts);
    this.ws.on('upgrade', (res) => (this.socket = res.socket as Socket));
    this.ws.on('message', (data, isBinary) => {
      if (isBinary) this.binaryFrames++;
      this.messages.push(JSON.parse(String(data)) as Msg);
      this.recheck();
    });
    this.ws.on('close', (code, reason) => {
      this.closed = { code, reason: String(reason) };
      this.recheck();
    });
  }

  static async open(url: string, opts?: WebSocket.ClientOptions, protocols?: string[]): Promise<Client> {
    const c = new Client(url, opts, protocols);
    await new Promise((resolve, reject) => {
      c.ws.once('open', resolve);
      c.ws.once('error', reject);
    });
    return c;
  }

  send(msg: object): void {
    this.ws.send(JSON.stringify(msg));
  }

  seqs(runId: string): number[] {
    return this.messages.filter((m) => m.op === 'event' && m.event!.runId === runId).map((m) => m.event!.seq);
  }

  until(cond: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.checks.delete(check);
        reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.messages.slice(-5))}`));
      }, timeoutMs);
      const check = () => {
        if (!cond()) return;
        clearTimeout(timer);
        this.checks.delete(check);
        resolve();
      };
      this.checks.add(check);
      check();
    });
  }

  async subscribe(runId: string, after = 0): Promise<void> {
    this.send({ op: 'subscribe', runId, after });
    await this.until(() => this.messages.some((m) => m.op === 'subscribed' && m.runId === runId), `subscribed ${runId}`);
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    const done = new Promise((r) => this.ws.once('close', r));
    this.ws.close();
    await done;
  }

  private recheck(): void {
    for (const check of [...this.checks]) check();
  }
}

const log = (message: string): NewRunEvent => ({ type: 'log', level: 'info', stream: 'stdout', message, attempt: 1 });
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** A run of a fresh team, and an access token for a viewer of that team. */
async function runWithViewer() {
  const runId = await createRunRow(api.deps.db.em);
  const run = await findRun(api.deps.db.em.fork(), runId);
  const team = run!.team as unknown as { id: string; slug: string };
  const viewer = await createUser(api.deps.db.em, { teams: [team], role: 'viewer' });
  const token = await tokenFor(api, viewer.id);
  return { runId, team, token };
}

const statusCodeOf = (url: string, opts: WebSocket.ClientOptions = {}, protocols?: string[]) =>
  new Promise<number>((resolve, reject) => {
    const ws = new WebSocket(url, protocols, opts);
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.on('open', () => reject(new Error('upgrade unexpectedly accepted')));
    ws.on('error', () => undefined);
  });

describe('/ws authentication', () => {
  it('refuses an upgrade without a valid access token with 401', async () => {
    expect(await statusCodeOf(api.wsUrl)).toBe(401);
    expect(await statusCodeOf(`${api.wsUrl}?access_token=not-a-jwt`)).toBe(401);
    expect(await statusCodeOf(api.wsUrl, {}, ['opssight.v1', 'bearer.not-a-jwt'])).toBe(401);
  });

  it('takes the token as a bearer subprotocol and selects opssight.v1; ?access_token= only when WS_QUERY_TOKEN allows it', async () => {
    const { token } = await runWithViewer();
    const viaProtocol = await Client.open(api.wsUrl, {}, ['opssight.v1', `bearer.${token}`]);
    expect(viaProtocol.ws.protocol).toBe('opssight.v1');
    await viaProtocol.close();
    // A token in the URL ends up in proxy logs: refused unless the deployment opted in.
    expect(await statusCodeOf(`${api.wsUrl}?access_token=${token}`)).toBe(401);
    const lenient = await startApi({ WS_QUERY_TOKEN: 'true' });
    try {
      const viaQuery = await Client.open(`${lenient.wsUrl}?access_token=${await tokenFor(lenient, (await createUser(lenient.deps.db.em)).id)}`);
      await viaQuery.close();
    } finally {
      await lenient.close();
    }
  });

  it('refuses a foreign Origin with 403 and accepts the allow-listed one', async () => {
    const { token } = await runWithViewer();
    expect(await statusCodeOf(api.wsUrl, { origin: 'https://evil.example' }, bearer(token))).toBe(403);
    const ok = await Client.open(api.wsUrl, { origin: UI_ORIGIN }, bearer(token));
    await ok.close();
  });
});

describe('/ws run subscriptions', () => {
  it('replays history, then streams live events with no gap and no duplicate, even while appends race the subscribe', async () => {
    const { runId, token } = await runWithViewer();
    for (let i = 0; i < 3; i++) await api.deps.events.append(runId, range(1, 400).map((n) => log(`history ${i}.${n}`)));
    const client = await Client.open(api.wsUrl, {}, bearer(token));

    // Three concurrent appenders: their XADDs may reach Redis out of seq order, which the hub must repair.
    const racing = Promise.all(
      range(1, 3).map(async (w) => {
        for (let i = 0; i < 15; i++) await api.deps.events.append(runId, [log(`race ${w}.${i}`), log(`race ${w}.${i}b`)]);
      }),
    );
    await client.subscribe(runId, 0);
    await racing;
    const total = 1200 + 90;
    await client.until(() => client.seqs(runId).length >= total, `${total} events`);

    for (let i = 0; i < 5; i++) await api.deps.events.append(runId, [log(`live ${i}`)]);
    await client.until(() => client.seqs(runId).length >= total + 5, 'live events');
    expect(client.seqs(runId)).toEqual(range(1, total + 5));
    expect(client.binaryFrames).toBe(0);

    const delivered = client.messages.filter((m) => m.op === 'event').map((m) => m.event);
    expect(delivered).toEqual(await api.deps.events.list(runId, 0, 5000));
    await client.close();
  });

  it('fills from PostgreSQL the events whose Redis publish was lost, when a later one arrives live', async () => {
    const { runId, token } = await runWithViewer();
    const client = await Client.open(api.wsUrl, {}, bearer(token));
    await client.subscribe(runId, 0);
    await api.deps.events.append(runId, [log('one')]);
    await client.until(() => client.seqs(runId).length === 1, 'seq 1');
    // Committed but never XADDed: what RunEventStore leaves behind when Redis fails after the commit.
    await insertRunEvents(api.deps.db.em.fork(), runId, [log('lost 2'), log('lost 3')]);
    await api.deps.events.append(runId, [log('four')]);
    await client.until(() => client.seqs(runId).length >= 4, 'seq 4');
    expect(client.seqs(runId)).toEqual([1, 2, 3, 4]);
    expect(client.messages.filter((m) => m.op === 'event').map((m) => m.event!.message)).toEqual(['one', 'lost 2', 'lost 3', 'four']);
    await client.close();
  });

  it('a reconnect with `after` delivers exactly the missing events', async () => {
    const { runId, token } = await runWithViewer();
    await api.deps.events.append(runId, range(1, 10).map((n) => log(`a${n}`)));
    const first = await Client.open(api.wsUrl, {}, bearer(token));
    await first.subscribe(runId, 0);
    await first.until(() => first.seqs(runId).length === 10, 'first 10');
    await first.close();

    await api.deps.events.append(runId, range(1, 7).map((n) => log(`b${n}`)));
    const second = await Client.open(api.wsUrl, {}, bearer(token));
    await second.subscribe(runId, 10);
    await api.deps.events.append(runId, [log('c1')]);
    await second.until(() => second.seqs(runId).includes(18), 'seq 18');
    expect(second.seqs(runId)).toEqual(range(11, 18));
    await second.close();
  });

  it("answers another team's run as not found and delivers nothing of it; unsubscribe stops delivery", async () => {
    const mine = await runWithViewer();
    const theirs = await runWithViewer();
    const client = await Client.open(api.wsUrl, {}, bearer(mine.token));
    client.send({ op: 'subscribe', runId: theirs.runId, after: 0 });
    client.send({ op: 'subscribe', runId: 'not-a-uuid', after: 0 });
    await client.until(() => client.messages.filter((m) => m.op === 'error').length === 2, 'two errors');
    expect(client.messages.filter((m) => m.op === 'error')).toEqual([
      { op: 'error', runId: theirs.runId, message: 'run not found' },
      { op: 'error', runId: 'not-a-uuid', message: 'run not found' },
    ]);

    // A second watcher of the same run keeps the shared reader on it after the client leaves.
    const admin = await createUser(api.deps.db.em, { role: 'platform-admin' });
    const watcher = await Client.open(api.wsUrl, {}, bearer(await tokenFor(api, admin.id)));
    await watcher.subscribe(mine.runId, 0);
    await client.subscribe(mine.runId, 0);
    await api.deps.events.append(theirs.runId, [log('secret')]);
    await api.deps.events.append(mine.runId, [log('mine 1')]);
    await client.until(() => client.seqs(mine.runId).length === 1, 'own event');

    client.send({ op: 'unsubscribe', runId: mine.runId });
    await client.until(() => client.messages.some((m) => m.op === 'unsubscribed'), 'unsubscribed');
    await api.deps.events.append(mine.runId, [log('mine 2')]);
    await watcher.until(() => watcher.seqs(mine.runId).includes(2), 'watcher sees seq 2');
    // Replies on one socket keep their order: once this one arrives, seq 2 would have arrived before it.
    client.send({ op: 'bogus' });
    await client.until(() => client.messages.some((m) => m.op === 'error' && m.message?.startsWith('invalid message')), 'barrier');

    expect(client.seqs(theirs.runId)).toEqual([]);
    expect(client.seqs(mine.runId)).toEqual([1]);
    await Promise.all([client.close(), watcher.close()]);
  });
});

describe('/ws runs topic', () => {
  it("forwards status changes only of runs whose team the caller can see", async () => {
    const mine = await runWithViewer();
    const foreign = await createTeam(api.deps.db.em);
    const client = await Client.open(api.wsUrl, {}, bearer(mine.token));
    client.send({ op: 'subscribe', topic: 'runs' });
    await client.until(() => client.messages.some((m) => m.op === 'subscribed' && m.topic === 'runs'), 'topic subscribed');

    const announce = (id: string, team: string, status: string) =>
      api.deps.redis.publish(
        api.deps.keys.runsChannel,
        JSON.stringify({ op: 'run', run: { id, status, kind: 'terraform', team, target: 'ws', step: null } }),
      );
    await announce('r-foreign', foreign.slug, 'running');
    await announce('r-mine', mine.team.slug, 'running');
    await announce('r-foreign', foreign.slug, 'succeeded');
    await announce('r-mine', mine.team.slug, 'succeeded');
    await client.until(() => client.messages.filter((m) => m.op === 'run').length >= 2, 'two announcements');
    const runs = client.messages.filter((m) => m.op === 'run').map((m) => m.run);
    expect(runs).toEqual([
      { id: 'r-mine', status: 'running', kind: 'terraform', team: mine.team.slug, target: 'ws', step: null },
      { id: 'r-mine', status: 'succeeded', kind: 'terraform', team: mine.team.slug, target: 'ws', step: null },
    ]);
    await client.close();
  });
});
