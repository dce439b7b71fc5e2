import { expect, it } from '@jest/globals';
import pg from 'pg';
import { initOrm } from '../../db/orm.ts';

/** `call`'s result, or 'hung' after `ms`: a pool that lost its connections makes calls wait for ever. */
const within = <T>(ms: number, call: Promise<T>) => Promise.race([call, new Promise<'hung'>((r) => setTimeout(() => r('hung'), ms).unref())]);

it('a transaction whose connection PostgreSQL terminated gives its pool slot back', async () => {
  const db = await initOrm(process.env.DATABASE_URL!, { poolMax: 2 });
  const holder = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await holder.connect();
  const key = Math.floor(Math.random() * 2 ** 31);
  const holderPid = (await holder.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
  // Asked from outside the holder's transaction, whose view of pg_stat_activity is taken once.
  const watcher = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await watcher.connect();
  const blocked = async () => (await watcher.query<{ n: number }>('select count(*)::int as n from pg_stat_activity where $1 = any(pg_blocking_pids(pid))', [holderPid])).rows[0]!.n;
  try {
    // More transactions than the pool has connections, each waiting on a lock when its session is ended.
    for (let i = 0; i < 3; i++) {
      await holder.query('begin');
      await holder.query('select pg_advisory_xact_lock($1)', [key]);
      const victim = db.em.fork().transactional((tx) => tx.execute('select pg_advisory_xact_lock(?)', [key]));
      victim.catch(() => undefined);
      const deadline = Date.now() + 20_000;
      while ((await blocked()) === 0) {
        if (Date.now() > deadline) throw new Error(`transaction ${i} never waited on the lock`);
        await new Promise((r) => setTimeout(r, 50));
      }
      await holder.query('select pg_terminate_backend(pid) from pg_stat_activity where pg_backend_pid() = any(pg_blocking_pids(pid))');
      await holder.query('commit');
      await expect(victim).rejects.toThrow(/terminating connection/);
    }
    expect(await within(10_000, db.em.fork().transactional((tx) => tx.execute<{ one: number }[]>('select 1 as one')))).toEqual([{ one: 1 }]);
  } finally {
    await holder.end();
    await watcher.end();
    expect(await within(10_000, db.close())).toBeUndefined();
  }
}, 90_000);
