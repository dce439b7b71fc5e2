import type { Duplex } from 'node:stream';
import type { WebSocket, RawData } from 'ws';
import { WS_CLOSE, wsClientMessageSchema, type WsServerMessage, type WsTopic } from '../../contracts/events.ts';
import { can, type Principal } from '../../core/access.ts';
import { AuthenticationError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { Metrics } from '../../core/metrics.ts';
import type { RunEventStore } from '../../core/run-events.ts';
import type { Db } from '../../db/orm.ts';
import { findRun } from '../../db/repositories/runs.ts';
import { RunSubscription } from './run-subscription.ts';
import type { RunStreamReader } from './stream-reader.ts';
import type { TeamTopic, TopicMember } from './team-topic.ts';

export type SessionDeps = {
  db: Db;
  events: RunEventStore;
  reader: RunStreamReader;
  topics: Record<WsTopic, TeamTopic>;
  metrics: Metrics;
  logger: Logger;
  maxBufferedBytes: number;
};

const MAX_SUBSCRIPTIONS = 100;
const MAX_QUEUED_MESSAGES = 100;
/** After a 4008 close frame is queued behind the unread backlog, how long the peer gets to read it. */
const SLOW_CLOSE_GRACE_MS = 5_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type Watch = { sub: RunSubscription; teamId: string; unwatch?: () => void };

/** One authenticated socket: its run subscriptions, its topic memberships (`runs`, `alerts`), and its send budget. */
export class Session {
  /** Replaced when the user's access changes (recheck): what it no longer allows stops at once. */
  private current: Principal;
  /** The login session the socket's token belongs to; revoking it closes the socket. */
  readonly family: string;
  alive = true;
  private readonly ws: WebSocket;
  /** The upgraded TCP socket under `ws`, for corking. */
  private readonly socket: Duplex;
  private readonly deps: SessionDeps;
  private readonly watches = new Map<string, Watch>();
  private readonly member: TopicMember;
  private readonly joined = new Set<WsTopic>();
  private ended = false;
  private disposed = false;
  private timers: NodeJS.Timeout[] = [];
  private inbox: Promise<void> = Promise.resolve();
  private corked = false;
  private queued = 0;
  private readonly reload: () => Promise<Principal>;

  constructor(ws: WebSocket, socket: Duplex, principal: Principal & { exp: number; family: string }, reload: () => Promise<Principal>, deps: SessionDeps) {
    this.ws = ws;
    this.family = principal.family;
    this.socket = socket;
    this.current = principal;
    this.reload = reload;
    this.deps = deps;
    this.member = { principal, sendRaw: (json) => void this.send(json, false) };
    const expiresIn = Math.min(principal.exp * 1000 - Date.now(), 2 ** 31 - 1);
    // The socket outlives no token: the client reconnects with a fresh one (and `after`).
    this.timers.push(setTimeout(() => this.end(WS_CLOSE.tokenExpired, 'access token expired', 'token_expired'), Math.max(0, expiresIn)));
    ws.on('message', (data, isBinary) => this.enqueue(data, isBinary));
    ws.on('pong', () => (this.alive = true));
    ws.on('close', () => this.dispose());
  }

  /** Queues a message. With `flushed`, resolves once it left the process, which paces replays. */
  send(json: string | Buffer, flushed: boolean): Promise<void> | void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.deps.metrics.wsMessages.inc();
    this.corkUntilNextTurn();
    // A Buffer is JSON already encoded (shared by every socket watching the run): sent as a text frame.
    const text = { binary: false };
    const done = flushed ? new Promise<void>((resolve) => this.ws.send(json, text, () => resolve())) : (this.ws.send(json, text), undefined);
    if (this.ws.bufferedAmount > this.deps.maxBufferedBytes) {
      this.end(WS_CLOSE.slowConsumer, `slow consumer: more than ${this.deps.maxBufferedBytes} bytes unread`, 'slow_consumer');
    }
    return done;
  }

  /**
   * A batch of events reaches a socket as many small frames within one turn of the event loop;
   * corking the TCP socket until the next turn writes them with one syscall instead of one each.
   */
  private corkUntilNextTurn(): void {
    if (this.corked) return;
    const socket = this.socket;
    if (socket.destroyed) return;
    this.corked = true;
    socket.cork();
    setImmediate(() => {
      this.corked = false;
      socket.uncork();
    });
  }

  /** Closes with a reason; a peer that does not complete the close handshake in time is cut off. */
  end(code: number, reason: string, metricReason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.deps.metrics.wsDisconnects.inc({ reason: metricReason });
    this.dispose();
    this.ws.close(code, reason);
    const kill = setTimeout(() => this.ws.terminate(), SLOW_CLOSE_GRACE_MS);
    this.ws.once('close', () => clearTimeout(kill));
  }

  /** The run subscriptions currently open on this socket. */
  *subscriptions(): Iterable<RunSubscription> {
    for (const watch of this.watches.values()) yield watch.sub;
  }

  /** The socket's session was revoked (logout, refresh-token reuse, user disabled, password changed). */
  revoked(): void {
    this.end(WS_CLOSE.tokenRevoked, 'session revoked', 'token_revoked');
  }

  get principal(): Principal {
    return this.current;
  }

  /**
   * The user's access changed, or may have (a membership, role or admin flag; the hub's sweep): reads
   * the principal again, as the next HTTP request would. A refused one ends the socket; runs of teams
   * no longer readable are unsubscribed, and the topics filter by the new principal from now on.
   */
  async recheck(): Promise<void> {
    if (this.disposed) return;
    let next: Principal;
    try {
      next = await this.reload();
    } catch (err) {
      if (err instanceof AuthenticationError) return this.revoked();
      this.deps.logger.warn({ err }, 'ws: reading a changed principal failed; the next sweep tries again');
      return;
    }
    if (this.disposed) return;
    this.current = next;
    this.member.principal = next;
    for (const [runId, watch] of [...this.watches]) {
      if (can(next, watch.teamId, 'runs:read')) continue;
      this.unsubscribe(runId);
      this.reply({ op: 'error', runId, message: 'run not found' });
    }
  }

  /** Called by the hub's ping timer: a peer that did not answer the previous ping is gone. */
  ping(): void {
    if (!this.alive) {
      this.deps.metrics.wsDisconnects.inc({ reason: 'ping_timeout' });
      this.ws.terminate();
      return;
    }
    this.alive = false;
    this.ws.ping();
  }

  /** Releases subscriptions and timers; safe to call more than once. */
  dispose(): void {
    this.disposed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    for (const runId of [...this.watches.keys()]) this.unsubscribe(runId);
    for (const topic of this.joined) this.deps.topics[topic].remove(this.member);
    this.joined.clear();
  }

  private reply(message: WsServerMessage): void {
    void this.send(JSON.stringify(message), false);
  }

  /**
   * Client messages are handled one at a time, in order (a subscribe then an unsubscribe of the same
   * run must not be reordered by the subscribe's database read); a client that floods is cut off.
   */
  private enqueue(data: RawData, isBinary: boolean): void {
    if (++this.queued > MAX_QUEUED_MESSAGES) {
      this.end(1008, 'too many pending messages', 'flood');
      return;
    }
    this.inbox = this.inbox.then(async () => {
      await this.onMessage(data, isBinary);
      this.queued--;
    });
  }

  private async onMessage(data: RawData, isBinary: boolean): Promise<void> {
    let parsed: unknown;
    try {
      parsed = isBinary ? undefined : JSON.parse(data.toString());
    } catch {
      parsed = undefined;
    }
    const msg = wsClientMessageSchema.safeParse(parsed);
    if (!msg.success) {
      this.reply({ op: 'error', message: 'invalid message: expected {op:"subscribe",runId,after} | {op:"unsubscribe",runId} | {op:"subscribe",topic:"runs"|"alerts"}' });
      return;
    }
    const m = msg.data;
    try {
      if ('topic' in m) {
        if (m.op === 'subscribe') await this.joinTopic(m.topic);
        else this.leaveTopic(m.topic);
      } else if (m.op === 'subscribe') {
        await this.subscribe(m.runId, m.after);
      } else {
        this.unsubscribe(m.runId);
        this.reply({ op: 'unsubscribed', runId: m.runId });
      }
    } catch (err) {
      this.deps.logger.error({ err, op: m.op }, 'ws message failed');
      this.reply({ op: 'error', message: 'internal error', retry: true, ...('runId' in m ? { runId: m.runId } : { topic: m.topic }) });
    }
  }

  private async subscribe(runId: string, after: number): Promise<void> {
    if (!this.watches.has(runId) && this.watches.size >= MAX_SUBSCRIPTIONS) {
      this.reply({ op: 'error', runId, message: `at most ${MAX_SUBSCRIPTIONS} runs per connection` });
      return;
    }
    const run = UUID.test(runId) ? await findRun(this.deps.db.em.fork(), runId) : null;
    const teamId = (run?.team as unknown as { id: string } | undefined)?.id;
    // Another team's run does not exist for this caller, exactly as over HTTP (404, not 403).
    if (!run || !teamId || !can(this.principal, teamId, 'runs:read')) {
      this.reply({ op: 'error', runId, message: 'run not found' });
      return;
    }
    if (this.disposed) return;
    this.unsubscribe(runId);
    const sub = new RunSubscription(runId, after, {
      list: (from, limit) => this.deps.events.list(runId, from, limit),
      send: (json, flushed) => this.send(json, flushed),
      onError: (err) => {
        this.deps.logger.error({ err, runId }, 'ws run subscription failed');
        this.unsubscribe(runId);
        this.reply({ op: 'error', runId, message: 'subscription failed; subscribe again with after=<last seq>', retry: true });
      },
    });
    const watch: Watch = { sub, teamId };
    this.watches.set(runId, watch);
    // Live listener first, then the replay: whatever is XADDed meanwhile is held and deduped by seq.
    let unwatch: () => void;
    try {
      unwatch = await this.deps.reader.watch(runId, sub.onLive);
    } catch (err) {
      if (this.watches.get(runId) === watch) this.unsubscribe(runId);
      throw err;
    }
    if (this.watches.get(runId) !== watch) {
      unwatch();
      return;
    }
    watch.unwatch = unwatch;
    this.reply({ op: 'subscribed', runId, after });
    sub.start();
  }

  private unsubscribe(runId: string): void {
    const watch = this.watches.get(runId);
    if (!watch) return;
    this.watches.delete(runId);
    watch.sub.close();
    watch.unwatch?.();
  }

  private async joinTopic(topic: WsTopic): Promise<void> {
    if (this.disposed) return;
    if (!this.joined.has(topic)) {
      this.joined.add(topic);
      try {
        await this.deps.topics[topic].add(this.member);
      } catch (err) {
        this.joined.delete(topic);
        throw err;
      }
      // The socket may have gone while Redis confirmed; dispose() already ran and would miss this.
      if (this.disposed) {
        this.deps.topics[topic].remove(this.member);
        return;
      }
    }
    this.reply({ op: 'subscribed', topic });
  }

  private leaveTopic(topic: WsTopic): void {
    this.deps.topics[topic].remove(this.member);
    this.joined.delete(topic);
    this.reply({ op: 'unsubscribed', topic });
  }
}
