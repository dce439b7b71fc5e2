import type { Context } from '@temporalio/activity';
import pg from 'pg';

/**
 * One attempt at a time follows a launch. An attempt that is alive but missed its heartbeat timeout is
 * replaced by a new one before it learns so (at its next heartbeat); both would store the same lines.
 * The follower holds a PostgreSQL advisory lock on the launch, on a connection of its own: a worker
 * killed with -9 loses the connection and with it the lock, so the next attempt takes over at once.
 */
export class FollowLock {
  private client: pg.Client | undefined;
  private lost = false;
  private readonly databaseUrl: string;
  private readonly launchId: string;

  constructor(databaseUrl: string, launchId: string) {
    this.databaseUrl = databaseUrl;
    this.launchId = launchId;
  }

  /**
   * Takes the lock now: true when held, false when another attempt holds it. Throws when PostgreSQL
   * does not answer (the caller waits as it does for any store).
   */
  async take(): Promise<boolean> {
    if (this.held) return true;
    await this.release();
    const client = new pg.Client({ connectionString: this.databaseUrl, connectionTimeoutMillis: 5_000 });
    // The connection ending (a PostgreSQL restart) ends the lock too; held turns false and the follower takes it again before storing.
    client.on('error', () => (this.lost = true));
    client.on('end', () => (this.lost = true));
    try {
      await client.connect();
      const { rows } = await client.query<{ ok: boolean }>('select pg_try_advisory_lock(hashtextextended($1, 0)) as ok', [`opssight-follow:${this.launchId}`]);
      if (!rows[0]!.ok) {
        await client.end();
        return false;
      }
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    this.client = client;
    this.lost = false;
    return true;
  }

  get held(): boolean {
    return this.client !== undefined && !this.lost;
  }

  async release(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }
}

/** Thrown when this attempt stops watching a process that keeps running (worker shutdown, timeout). */
export class DetachedError extends Error {
  constructor(reason: string) {
    super(`stopped following the process (${reason}); it keeps running and the next attempt resumes its output`);
    this.name = 'DetachedError';
  }
}

/** Between two tries for a lock another attempt holds. */
const WAIT_MS = 250;

/**
 * Takes the launch's follow lock, waiting (and heartbeating) while another attempt holds it: one that
 * missed its heartbeat timeout learns at its next heartbeat that it is no longer current, and lets go.
 * True when it had to wait. A worker shutting down or an attempt timing out meanwhile stops waiting.
 */
export async function takeOver(lock: FollowLock, ctx: Context, progress: Record<string, unknown>): Promise<boolean> {
  for (let waited = false; ; waited = true) {
    if (await lock.take().catch(() => false)) return waited;
    const why = ctx.cancellationDetails;
    if (ctx.cancellationSignal.aborted && why && !why.cancelRequested && !why.reset) {
      throw new DetachedError(why.workerShutdown ? 'worker shutting down' : why.timedOut ? 'attempt timed out' : 'activity no longer current');
    }
    ctx.heartbeat(progress);
    await new Promise((r) => setTimeout(r, WAIT_MS));
  }
}
