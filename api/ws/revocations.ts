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
 * Likewise for users whose access changed (`onChanged`): at once when announced, and for every
 * socket at each regular sweep and when the subscription comes back. While it is down nothing live
 * reaches the sockets anyway (live events travel through Redis), so those sweeps check sessions only.
 */
export class SessionRevocations {
  private readonly deps: { connect: () => Redis; channel: string; db: Db; logger: Logger; sweepEveryMs: number };
  private readonly openFamilies: () => string[];
  private readonly onEnded: (families: Set<string>) => void;
  private readonly onChanged: (users: Set<string> | 'all') => void;
  private readonly subscriber: Redis;
  private subscribed = false;
  private lastSweep = Date.now();
  private sweeping: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(
    deps: { connect: () => Redis; channel: string; db: Db; logger: Logger; sweepEveryMs: number },
    openFamilies: () => string[],
    onEnded: (families: Set<string>) => void,
    onChanged: (users: Set<string> | 'all') => void,
  ) {
    this.deps = deps;
    this.openFamilies = openFamilies;
    this.onEnded = onEnded;
    this.onChanged = onChanged;
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
      if (due) void this.sweep(this.subscribed);
    }, Math.min(FALLBACK_SWEEP_MS, deps.sweepEveryMs));
    this.timer.unref();
  }

  /** Asks PostgreSQL whether the sessions of all open sockets still hold, and with `principals` what they may see; one sweep at a time. */
  sweep(principals = true): Promise<void> {
    this.lastSweep = Date.now();
    if (principals) this.onChanged('all');
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
      const { families, users } = JSON.parse(message) as { families?: unknown; users?: unknown };
      const strings = (list: unknown[]) => new Set(list.filter((f): f is string => typeof f === 'string'));
      if (Array.isArray(families)) this.onEnded(strings(families));
      if (Array.isArray(users)) this.onChanged(strings(users));
    } catch {
      this.deps.logger.warn('ws: unparsable session revocation skipped');
    }
  }
}
