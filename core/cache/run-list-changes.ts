import pg from 'pg';
import type { Logger } from '../logger.ts';
import type { AppCache } from './cache.ts';
import { cacheTags } from './tags.ts';

/** The channel the `runs_changed` trigger notifies with the team id of every changed run row. */
const RUNS_CHANNEL = 'opssight_runs_changed';
/** The `teams_changed` trigger's: a team was created, renamed or removed. */
const TEAMS_CHANNEL = 'opssight_teams_changed';
const RECONNECT_MS = 1_000;

/**
 * Keeps cached run list pages and the team list true to PostgreSQL: LISTENs for the triggers'
 * notifications (every insert, update or delete of a run row, whoever made it, worker or API; every
 * change to the teams) and invalidates the team's pages (or the team list) in the cache. Every API process listens; each invalidates for itself, so a change reaches all
 * of them even while the Redis bus is down.
 *
 * `trusted()` is false while the connection is down: notifications sent meanwhile are lost, so run
 * lists are read from PostgreSQL until it is back, and then every page is invalidated once.
 * `generation(teamId)` changes with each notification, so a page read while one arrived is read again.
 */
export class RunListChanges {
  private client: pg.Client | undefined;
  private connected = false;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly generations = new Map<string, number>();
  private everything = 0;

  private readonly opts: { databaseUrl: string; cache: AppCache; logger: Logger };

  constructor(opts: { databaseUrl: string; cache: AppCache; logger: Logger }) {
    this.opts = opts;
  }

  async start(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({ connectionString: this.opts.databaseUrl });
    this.client = client;
    client.on('notification', (n) => (n.channel === TEAMS_CHANNEL ? this.teamsChanged() : n.payload && this.changed(n.payload)));
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      await client.query(`listen ${RUNS_CHANNEL}; listen ${TEAMS_CHANNEL}`);
      this.connected = true;
      // What changed while nobody listened is unknown: every page goes.
      this.everything++;
      await this.opts.cache.invalidate([cacheTags.allRuns, cacheTags.teams]);
    } catch (err) {
      this.lost(client, err);
    }
  }

  trusted(): boolean {
    return this.connected;
  }

  /** A number that differs after any change to the runs of one of `teamIds` (or of any team, with undefined). */
  generation(teamIds: readonly string[] | undefined): string {
    if (!teamIds) return `${this.everything}.${[...this.generations.values()].reduce((a, b) => a + b, 0)}`;
    return `${this.everything}.${teamIds.map((t) => this.generations.get(t) ?? 0).join('.')}`;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.client?.end().catch(() => undefined);
  }

  private changed(teamId: string): void {
    this.generations.set(teamId, (this.generations.get(teamId) ?? 0) + 1);
    void this.opts.cache.invalidate([cacheTags.runs(teamId), cacheTags.runsOfAllTeams]);
  }

  private teamsChanged(): void {
    this.everything++;
    void this.opts.cache.invalidate([cacheTags.teams]);
  }

  private lost(client: pg.Client, err?: unknown): void {
    if (client !== this.client) return;
    this.client = undefined;
    this.connected = false;
    void client.end().catch(() => undefined);
    if (this.closed) return;
    if (err) this.opts.logger.warn({ err }, 'run list changes: connection lost; run lists come from PostgreSQL until it is back');
    this.timer = setTimeout(() => void this.start(), RECONNECT_MS);
    this.timer.unref();
  }
}
