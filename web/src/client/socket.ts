import type { AlertAnnouncement } from '../../../contracts/alerts/live.ts';
import type { RunAnnouncement, RunEvent, WsClientMessage, WsServerMessage, WsTopic } from '../../../contracts/events.ts';
import { WS_CLOSE } from '../../../contracts/events.ts';
import { refresh, session } from './session.ts';

export type SocketState = 'connecting' | 'open' | 'reconnecting';
type RunWatcher = { after: number; onEvents: (events: RunEvent[]) => void; fill: (after: number, upTo: number) => Promise<RunEvent[]> };

/** The subprotocol the API selects; the token rides next to it so it stays out of URLs and logs. */
const PROTOCOL = 'opssight.v1';
const MAX_BACKOFF_MS = 5_000;
const RESUBSCRIBE_MS = 1_000;

/**
 * One WebSocket per tab, shared by the runs list and run pages. It reconnects with backoff and
 * resubscribes every run with `after` = the last seq its watcher holds, so a dropped connection costs
 * neither a gap nor a duplicate: events at or below `after` are dropped here, and a jump past
 * `after + 1` is filled from the events API before anything newer is delivered.
 */
class LiveSocket {
  private ws: WebSocket | null = null;
  private attempts = 0;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private readonly runs = new Map<string, RunWatcher>();
  private readonly topic = new Set<(run: RunAnnouncement) => void>();
  private readonly alertTopic = new Set<(change: AlertAnnouncement) => void>();
  private readonly stateListeners = new Set<(s: SocketState) => void>();
  state: SocketState = 'connecting';
  /** Incremented per opened connection; tests and the status pill read it. */
  connections = 0;
  private batch = new Map<string, RunEvent[]>();
  private flushScheduled = false;
  /** Per run: live events held back while a gap before them is read over HTTP. */
  private held = new Map<string, RunEvent[]>();

  watchRun(runId: string, after: number, onEvents: RunWatcher['onEvents'], fill: RunWatcher['fill']): () => void {
    this.runs.set(runId, { after, onEvents, fill });
    this.sendMsg({ op: 'subscribe', runId, after });
    this.ensure();
    return () => {
      this.runs.delete(runId);
      this.sendMsg({ op: 'unsubscribe', runId });
      this.idle();
    };
  }

  watchRuns(listener: (run: RunAnnouncement) => void): () => void {
    if (this.topic.size === 0) this.sendMsg({ op: 'subscribe', topic: 'runs' });
    this.topic.add(listener);
    this.ensure();
    return () => {
      this.topic.delete(listener);
      if (this.topic.size === 0) this.sendMsg({ op: 'unsubscribe', topic: 'runs' });
      this.idle();
    };
  }

  /** Alert changes of the teams the user can see (the `alerts` topic), while `listener` is registered. */
  watchAlerts(listener: (change: AlertAnnouncement) => void): () => void {
    if (this.alertTopic.size === 0) this.sendMsg({ op: 'subscribe', topic: 'alerts' });
    this.alertTopic.add(listener);
    this.ensure();
    return () => {
      this.alertTopic.delete(listener);
      if (this.alertTopic.size === 0) this.sendMsg({ op: 'unsubscribe', topic: 'alerts' });
      this.idle();
    };
  }

  onState(listener: (s: SocketState) => void): () => void {
    this.stateListeners.add(listener);
    listener(this.state);
    return () => this.stateListeners.delete(listener);
  }

  /** Closes the socket (sign-out). */
  shutdown(): void {
    clearTimeout(this.retry);
    this.runs.clear();
    this.topic.clear();
    this.alertTopic.clear();
    const ws = this.ws;
    this.ws = null;
    ws?.close(1000, 'signed out');
  }

  private setState(s: SocketState): void {
    this.state = s;
    this.stateListeners.forEach((l) => l(s));
  }

  private idle(): void {
    if (!this.wanted()) this.shutdown();
  }

  private wanted(): boolean {
    return this.runs.size > 0 || this.topic.size > 0 || this.alertTopic.size > 0;
  }

  private topicsWanted(): WsTopic[] {
    return [...(this.topic.size ? (['runs'] as const) : []), ...(this.alertTopic.size ? (['alerts'] as const) : [])];
  }

  private sendMsg(msg: WsClientMessage): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  private ensure(): void {
    if (this.ws || this.retry !== undefined) return;
    const token = session.accessToken;
    if (!token) return;
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const ws = new WebSocket(`${scheme}://${location.host}/ws`, [PROTOCOL, `bearer.${token}`]);
    this.ws = ws;
    this.setState(this.attempts === 0 ? 'connecting' : 'reconnecting');
    ws.onopen = () => {
      this.attempts = 0;
      this.connections++;
      this.setState('open');
      for (const topic of this.topicsWanted()) this.sendMsg({ op: 'subscribe', topic });
      for (const [runId, w] of this.runs) this.sendMsg({ op: 'subscribe', runId, after: w.after });
    };
    ws.onmessage = (m) => this.onMessage(JSON.parse(String(m.data)) as WsServerMessage);
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (!this.wanted()) return;
      this.setState('reconnecting');
      void this.reconnect(e.code);
    };
  }

  private async reconnect(code: number): Promise<void> {
    // An expired (or refused) token: refresh first, so the next attempt carries a valid one.
    if (code === WS_CLOSE.tokenExpired || code === 1008 || this.attempts >= 2) await refresh();
    const delay = Math.min(MAX_BACKOFF_MS, 250 * 2 ** this.attempts) * (0.5 + Math.random() / 2);
    this.attempts++;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.ensure();
    }, code === WS_CLOSE.tokenExpired ? 0 : delay);
  }

  private onMessage(msg: WsServerMessage): void {
    if (msg.op === 'run') this.topic.forEach((l) => l(msg.run));
    else if (msg.op === 'alert') this.alertTopic.forEach((l) => l(msg));
    else if (msg.op === 'event') this.onEvent(msg.event);
    else if (msg.op === 'error' && msg.retry) this.resubscribeLater(msg);
  }

  /**
   * The server could not serve a subscription (its database or Redis failed for a moment): asked
   * again after a pause, from what is held, or the page would wait for events that never come.
   */
  private resubscribeLater(failed: { runId?: string; topic?: WsTopic }): void {
    const ws = this.ws;
    setTimeout(() => {
      if (this.ws !== ws) return; // a new connection resubscribes everything on open
      if (failed.runId) {
        const w = this.runs.get(failed.runId);
        if (w) this.sendMsg({ op: 'subscribe', runId: failed.runId, after: w.after });
      } else if (failed.topic && this.topicsWanted().includes(failed.topic)) {
        this.sendMsg({ op: 'subscribe', topic: failed.topic });
      }
    }, RESUBSCRIBE_MS);
  }

  private onEvent(event: RunEvent): void {
    const w = this.runs.get(event.runId);
    if (!w || event.seq <= w.after) return;
    const held = this.held.get(event.runId);
    if (held) {
      // A gap is being filled; what arrives meanwhile waits its turn.
      held.push(event);
      return;
    }
    if (event.seq === w.after + 1) {
      this.deliver(event.runId, [event]);
      return;
    }
    this.held.set(event.runId, [event]);
    void w
      .fill(w.after, event.seq)
      .then((missing) => this.deliver(event.runId, missing.filter((e) => e.seq < event.seq)))
      .catch(() => undefined)
      .finally(() => {
        const queued = this.held.get(event.runId) ?? [];
        this.held.delete(event.runId);
        this.deliver(event.runId, queued);
      });
  }

  /** Delivers in order, advancing `after`; batched per animation frame so a burst costs one render. */
  private deliver(runId: string, events: RunEvent[]): void {
    const w = this.runs.get(runId);
    if (!w) return;
    const fresh = events.filter((e) => e.seq > w.after).sort((a, b) => a.seq - b.seq);
    if (fresh.length === 0) return;
    w.after = fresh[fresh.length - 1]!.seq;
    const pending = this.batch.get(runId) ?? [];
    pending.push(...fresh);
    this.batch.set(runId, pending);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      requestAnimationFrame(() => this.flush());
      // A hidden tab gets no frames; a timer keeps the state current there.
      setTimeout(() => this.flush(), 250);
    }
  }

  private flush(): void {
    if (!this.flushScheduled) return;
    this.flushScheduled = false;
    const batch = this.batch;
    this.batch = new Map();
    for (const [runId, events] of batch) this.runs.get(runId)?.onEvents(events);
  }

  /** Used by the run page to raise the watermark after it loaded history over HTTP. */
  advance(runId: string, seq: number): void {
    const w = this.runs.get(runId);
    if (w && seq > w.after) w.after = seq;
  }
}

export const live = new LiveSocket();
session.subscribe((reason) => {
  if (reason) live.shutdown();
});
