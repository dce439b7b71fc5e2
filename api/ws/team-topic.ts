import type { Redis } from 'ioredis';
import type { WsTopic } from '../../contracts/events.ts';
import { permissionsAllow } from '../../contracts/permissions.ts';
import type { Principal } from '../../core/access.ts';
import type { Logger } from '../../core/logger.ts';

/** `principal` is read at every announcement: a socket whose access changed sees the change at once. */
export type TopicMember = { principal: Principal; sendRaw: (json: string) => void };

/** Runs and alerts are announced with their team's slug; the caller sees them when they may read that team. */
export function canSeeTeamSlug(principal: Principal, slug: string): boolean {
  if (principal.isAdmin) return true;
  return principal.teams.some((t) => t.slug === slug && permissionsAllow(t.permissions, 'runs:read'));
}

/**
 * What one topic relays: the announcements' `op`, the team an announcement belongs to, and what of it
 * reaches the socket (the JSON sent), or undefined for a malformed announcement.
 */
export type TopicShape = { op: string; teamOf: (parsed: Record<string, unknown>) => string | undefined; project: (parsed: Record<string, unknown>) => unknown };

export const TOPIC_SHAPES: Record<WsTopic, TopicShape> = {
  runs: {
    op: 'run',
    teamOf: (m) => (m.run as { team?: unknown } | undefined)?.team as string | undefined,
    project: (m) => ({ op: 'run', run: m.run }),
  },
  alerts: {
    op: 'alert',
    teamOf: (m) => (m.alert as { team?: unknown } | undefined)?.team as string | undefined,
    project: (m) => ({ op: 'alert', change: m.change, alert: m.alert, ...(m.timeline ? { timeline: m.timeline } : {}), ...(m.notification ? { notification: m.notification } : {}) }),
  },
};

/**
 * A list-level topic (`runs`, `alerts`): one Redis SUBSCRIBE (on its own connection, as subscriber
 * mode requires) per API instance and topic, fanned out to the local sockets that asked for it,
 * filtered by the team each caller may see.
 */
export class TeamTopic {
  private readonly members = new Set<TopicMember>();
  private readonly connect: () => Redis;
  private readonly channel: string;
  private readonly shape: TopicShape;
  private readonly logger: Logger;
  private subscriber: Redis | undefined;
  private subscribed: Promise<unknown> | undefined;

  constructor(deps: { connect: () => Redis; channel: string; shape: TopicShape; logger: Logger }) {
    this.connect = deps.connect;
    this.channel = deps.channel;
    this.shape = deps.shape;
    this.logger = deps.logger;
  }

  /** Resolves once Redis confirmed the subscription, so announcements published afterwards arrive. */
  async add(member: TopicMember): Promise<void> {
    this.members.add(member);
    if (!this.subscriber) {
      const sub = this.connect();
      sub.on('message', (_channel: string, message: string) => this.forward(message));
      this.subscriber = sub;
      this.subscribed = sub.subscribe(this.channel);
    }
    try {
      await this.subscribed;
    } catch (err) {
      this.members.delete(member);
      throw err;
    }
  }

  remove(member: TopicMember): void {
    this.members.delete(member);
  }

  async close(): Promise<void> {
    this.members.clear();
    this.subscriber?.disconnect();
    this.subscriber = undefined;
  }

  private forward(message: string): void {
    let parsed: Record<string, unknown>;
    let team: string | undefined;
    try {
      parsed = JSON.parse(message) as Record<string, unknown>;
      team = parsed.op === this.shape.op ? this.shape.teamOf(parsed) : undefined;
    } catch {
      this.logger.warn({ channel: this.channel }, 'ws topic: unparsable announcement skipped');
      return;
    }
    if (typeof team !== 'string') return;
    const json = JSON.stringify(this.shape.project(parsed));
    for (const member of this.members) {
      if (canSeeTeamSlug(member.principal, team)) member.sendRaw(json);
    }
  }
}
