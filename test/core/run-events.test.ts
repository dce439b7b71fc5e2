import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { peerContext } from '../peers/context.ts';
import { createRunRow } from '../fixtures/runs.ts';

let ctx: Awaited<ReturnType<typeof peerContext>>;
beforeAll(async () => {
  ctx = await peerContext();
});
afterAll(() => ctx.close());

const log = (message: string) => ({ type: 'log' as const, level: 'info' as const, stream: 'stdout' as const, message, attempt: 1 });

describe('RunEventStore', () => {
  it('assigns gap-free seqs, persists to PostgreSQL and publishes to the run stream in order', async () => {
    const runId = await createRunRow(ctx.db.em);
    const a = await ctx.events.append(runId, [log('one'), log('two')]);
    const b = await ctx.events.append(runId, [log('three')]);
    expect([...a, ...b].map((e) => e.seq)).toEqual([1, 2, 3]);

    const stored = await ctx.events.list(runId, 0, 100);
    expect(stored.map((e) => e.message)).toEqual(['one', 'two', 'three']);
    expect(await ctx.events.list(runId, 2, 100)).toEqual([b[0]]);

    await ctx.events.published();
    const entries = await ctx.redis.xrange(ctx.keys.runStream(runId), '-', '+');
    expect(entries.map(([, fields]) => JSON.parse(fields[1]!).seq)).toEqual([1, 2, 3]);
  });

  it('keeps seq strictly increasing under concurrent appenders', async () => {
    const runId = await createRunRow(ctx.db.em);
    await Promise.all(Array.from({ length: 20 }, (_, i) => ctx.events.append(runId, [log(`a${i}`), log(`b${i}`)])));
    const stored = await ctx.events.list(runId, 0, 1000);
    expect(stored.map((e) => e.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });

  it('refuses events for a run that does not exist and writes nothing', async () => {
    const missing = crypto.randomUUID();
    await expect(ctx.events.append(missing, [log('x')])).rejects.toThrow(/does not exist/);
    expect(await ctx.events.list(missing, 0, 10)).toEqual([]);
  });
});
