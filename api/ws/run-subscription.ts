import type { RunEvent } from '../../contracts/events.ts';

/** Where a subscription reads committed history (the run-event store) and writes to its socket. */
export type SubscriptionIo = {
  list: (after: number, limit: number) => Promise<RunEvent[]>;
  /** Queues one serialised message (JSON text); resolves when it left the process (or the socket closed). */
  send: (json: string | Buffer, flushed: boolean) => Promise<void> | void;
  onError: (err: unknown) => void;
};

const PAGE = 500;
/** Live events held while replay or a gap fill runs; older ones are dropped and re-read from PostgreSQL. */
const MAX_PENDING = 5_000;

/**
 * One socket watching one run: replays history from PostgreSQL, then forwards live events from the
 * shared stream reader. Every seq is sent once and in order: live events at or below the last sent
 * seq are dropped, and a live event beyond the next expected seq first pulls the missing ones from
 * PostgreSQL (they are committed: a run's batches commit in seq order before they reach Redis).
 */
export class RunSubscription {
  readonly runId: string;
  private last: number;
  private readonly io: SubscriptionIo;
  private pending: { event: RunEvent; message: Buffer }[] = [];
  private replayed = false;
  private committedUpTo = 0;
  private pumping = false;
  private closed = false;

  constructor(runId: string, after: number, io: SubscriptionIo) {
    this.runId = runId;
    this.last = after;
    this.io = io;
  }

  /** The seq of the last event sent. */
  get lastSeq(): number {
    return this.last;
  }

  /** Begins the replay; call after the live listener is attached, so nothing falls between the two. */
  start(): void {
    void this.pump();
  }

  /** The stream reader's listener. */
  readonly onLive = (event: RunEvent, message: Buffer): void => {
    if (this.closed || event.seq <= this.last) return;
    this.pending.push({ event, message });
    if (this.pending.length > MAX_PENDING) this.pending.splice(0, this.pending.length - MAX_PENDING);
    if (this.replayed) void this.pump();
  };

  /**
   * Told by the hub's periodic check that the run has committed events up to `seq`. Redis is the
   * fast path only: an event whose publish failed, with nothing after it, arrives this way.
   */
  catchUp(seq: number): void {
    if (this.closed || seq <= this.last) return;
    this.committedUpTo = Math.max(this.committedUpTo, seq);
    if (this.replayed) void this.pump();
  }

  close(): void {
    this.closed = true;
    this.pending = [];
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      if (!this.replayed) {
        await this.fill(Number.POSITIVE_INFINITY);
        this.replayed = true;
      }
      while (!this.closed) {
        if (this.pending.length === 0) {
          if (this.committedUpTo <= this.last) break;
          const upTo = this.committedUpTo;
          this.committedUpTo = 0;
          await this.fill(upTo);
          continue;
        }
        const { event, message } = this.pending.shift()!;
        if (event.seq <= this.last) continue;
        if (event.seq > this.last + 1) await this.fill(event.seq - 1);
        if (this.closed || event.seq !== this.last + 1) continue;
        this.last = event.seq;
        // Unflushed sends return nothing: awaiting that would still cost a turn per event per socket.
        const sent = this.io.send(message, false);
        if (sent) await sent;
      }
    } catch (err) {
      this.io.onError(err);
    } finally {
      this.pumping = false;
    }
  }

  /** Sends committed events after the last sent one, up to `upTo`, page by page, waiting for each page to drain. */
  private async fill(upTo: number): Promise<void> {
    while (!this.closed && this.last < upTo) {
      const limit = Math.min(PAGE, upTo - this.last);
      const page = await this.io.list(this.last, limit);
      for (let i = 0; i < page.length && !this.closed; i++) {
        const event = page[i]!;
        if (event.seq !== this.last + 1) throw new Error(`run ${this.runId}: expected seq ${this.last + 1}, store returned ${event.seq}`);
        this.last = event.seq;
        // Only the page's last send waits for the socket, so a slow reader paces the replay instead of filling memory.
        await this.io.send(JSON.stringify({ op: 'event', event }), i === page.length - 1);
      }
      if (page.length < limit) return;
    }
  }
}
