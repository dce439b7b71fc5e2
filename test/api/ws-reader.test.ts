import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Redis } from 'ioredis';
import type { NewRunEvent, RunEvent } from '../../contracts/events.ts';
import { createRedis } from '../../core/redis.ts';
import { RunStreamReader } from '../../api/ws/stream-reader.ts';
import { createRunRow } from '../fixtures/runs.ts';
import { peerContext } from '../peers/context.ts';

let ctx: Awaited<ReturnType<typeof peerContext>>;
beforeAll(async () => {
  ctx = await peerContext();
});
afterAll(() => ctx.close());

const log = (message: string): NewRunEvent => ({ type: 'log', level: 'info', message, attempt: 1 });

/** Resolves once `got()` reaches `n`; checked whenever a listener records something. */
function counter() {
  const seen: RunEvent[] = [];
  let wake = () => {};
  return {
    seen,
    listener: (e: RunEvent) => {
      seen.push(e);
      wake();
    },
    reach: (n: number) =>
      new Promise<void>((resolve) => {
        wake = () => seen.length >= n && resolve();
        wake();
      }),
  };
}

describe('RunStreamReader', () => {
  it('tails many runs for many listeners on one blocking connection, and picks up a new run at once', async () => {
    const opened: Redis[] = [];
    const reader = new RunStreamReader({
      connect: () => {
        const c = createRedis(ctx.config.REDIS_URL, 'test-ws-reader');
        opened.push(c);
        return c;
      },
      redis: ctx.redis,
      keys: ctx.keys,
      logger: ctx.logger,
    });
    const [a, b] = await Promise.all([createRunRow(ctx.db.em), createRunRow(ctx.db.em)]);
    const onA = [counter(), counter(), counter()];
    const unwatchA = await Promise.all(onA.map((c) => reader.watch(a, c.listener)));
    await ctx.events.append(a, [log('a1'), log('a2')]);
    await Promise.all(onA.map((c) => c.reach(2)));

    // The reader is now blocked on run a; watching run b must not wait for that block to time out.
    const onB = [counter(), counter()];
    const started = Date.now();
    await Promise.all(onB.map((c) => reader.watch(b, c.listener)));
    await ctx.events.append(b, [log('b1')]);
    await Promise.all(onB.map((c) => c.reach(1)));
    expect(Date.now() - started).toBeLessThan(2_000);

    expect(opened).toHaveLength(1);
    expect(reader.watchedRuns).toBe(2);
    for (const c of onA) expect(c.seen.map((e) => e.message)).toEqual(['a1', 'a2']);
    for (const c of onB) expect(c.seen.map((e) => e.message)).toEqual(['b1']);

    for (const unwatch of unwatchA) unwatch();
    expect(reader.watchedRuns).toBe(1);
    await reader.stop();
    expect(opened[0]!.status).toBe('end');
  });
});
