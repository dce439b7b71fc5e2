import type { Redis } from 'ioredis';
import type { Logger } from '../../core/logger.ts';
import type { Db } from '../../db/orm.ts';
import { endedSessions } from '../../db/repositories/api-tokens.ts';

/** While the Redis channel is down, how often the open sessions are checked in PostgreSQL instead. */
const FALLBACK_SWEEP_MS = 1_000;

/**
 * Tells the hub which of its sockets' sessions ended, in two ways: at once, from the announcements
 * every API process publishes on Redis when it revokes a session; and by asking PostgreSQL (the record)
 * about all open sessions — every `sweepEveryMs` as a safety net, every second while the Redis
 * subscription is down (announcements made meanwhile are lost), and once when it comes back.
 */
export class SessionRevocations {
  private readonly deps: { connect: () => Redis; channel: string; db: Db; logger: Logger; sweepEveryMs: number };
  private readonly openFamilies: () => string[];
  private readonly onEnded: (families: Set<string>) => void;
  private readonly subscriber: Redis;
  private subscribed = false;
  private lastSweep = Date.now();
  private sweeping: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(
    deps: { connect: () => Redis; channel: string; db: Db; logger: Logger; sweepEveryMs: number },
    openFamilies: () => string[],
    onEnded: (families: Set<string>) => void,
  ) {
    this.deps = deps;
    this.openFamilies = openFamilies;
    this.onEnded = onEnded;
    this.subscriber = deps.connect();
    this.subscriber.on('message', (_channel: string, message: string) => this.announced(message));
    // ioredis subscribes again after a reconnect; what was announced in between is found by the sweep.
    this.subscriber.on('ready', () => {
      this.subscribed = true;
      void this.sweep();
    });
    this.subscriber.on('close', () => (this.subscribed = false));
    this.subscriber.subscribe(deps.channel).catch((err: unknown) => deps.logger.warn({ err }, 'ws: subscribing to session revocations failed'));
    this.timer = setInterval(() => {
      const due = Date.now() - this.lastSweep >= (this.subscribed ? deps.sweepEveryMs : FALLBACK_SWEEP_MS);
      if (due) void this.sweep();
    }, Math.min(FALLBACK_SWEEP_MS, deps.sweepEveryMs));
    this.timer.unref();
  }

  /** Asks PostgreSQL whether the sessions of all open sockets still hold; one sweep at a time. */
  sweep(): Promise<void> {
    this.lastSweep = Date.now();
    this.sweeping ??= this.check(this.openFamilies()).finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  /** Asks PostgreSQL whether these sessions still hold (a socket just opened: a revocation may have raced it). */
  async check(families: string[]): Promise<void> {
    if (families.length === 0) return;
    try {
      const ended = await endedSessions(this.deps.db.em.fork(), [...new Set(families)]);
      if (ended.length) this.onEnded(new Set(ended));
    } catch (err) {
      this.deps.logger.warn({ err }, 'ws: checking sessions in PostgreSQL failed');
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.subscriber.disconnect();
    await this.sweeping;
  }

  private announced(message: string): void {
    try {
      const { families } = JSON.parse(message) as { families?: unknown };
      if (Array.isArray(families)) this.onEnded(new Set(families.filter((f): f is string => typeof f === 'string')));
    } catch {
      this.deps.logger.warn('ws: unparsable session revocation skipped');
    }
  }
}
