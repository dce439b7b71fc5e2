import type { Redis } from 'ioredis';
import type { RunAnnouncement } from '../../contracts/events.ts';
import { permissionsAllow } from '../../contracts/permissions.ts';
import type { Principal } from '../../core/access.ts';
import type { Logger } from '../../core/logger.ts';

export type TopicMember = { principal: Principal; sendRaw: (json: string) => void };

/** The run's team is announced by slug; the caller sees it when they may read runs of that team. */
export function canSeeTeamSlug(principal: Principal, slug: string): boolean {
  if (principal.isAdmin) return true;
  return principal.teams.some((t) => t.slug === slug && permissionsAllow(t.permissions, 'runs:read'));
}

/**
 * The `runs` topic: one Redis SUBSCRIBE (on its own connection, as subscriber mode requires) per API
 * instance, fanned out to the local sockets that asked for it, filtered by what each caller may see.
 */
export class RunsTopic {
  private readonly members = new Set<TopicMember>();
  private readonly connect: () => Redis;
  private readonly channel: string;
  private readonly logger: Logger;
  private subscriber: Redis | undefined;
  private subscribed: Promise<unknown> | undefined;

  constructor(deps: { connect: () => Redis; channel: string; logger: Logger }) {
    this.connect = deps.connect;
    this.channel = deps.channel;
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
    let run: RunAnnouncement;
    try {
      const parsed = JSON.parse(message) as { op?: string; run?: RunAnnouncement };
      if (parsed.op !== 'run' || !parsed.run || typeof parsed.run.team !== 'string') return;
      run = parsed.run;
    } catch {
      this.logger.warn('ws runs topic: unparsable announcement skipped');
      return;
    }
    const json = JSON.stringify({ op: 'run', run });
    for (const member of this.members) {
      if (canSeeTeamSlug(member.principal, run.team)) member.sendRaw(json);
    }
  }
}
