import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client, Connection } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createReconcileActivities } from '../../activities/reconcile.ts';
import { createRunStateActivities } from '../../activities/run-state.ts';
import { findRun } from '../../db/repositories/runs.ts';
import { fireWorkflowIdPrefix, runIdOfFire, temporalScheduleId } from '../../core/schedule-fires.ts';
import { createRunRow, createRunWithTeam, insertRun } from '../fixtures/runs.ts';
import { peerContext } from '../peers/context.ts';
import { until } from '../fixtures/until.ts';

let ctx: Awaited<ReturnType<typeof peerContext>>;
let connection: Connection;
let temporal: Client;
const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };

beforeAll(async () => {
  ctx = await peerContext();
  connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  temporal = new Client({ connection });
});
afterAll(async () => {
  await connection?.close();
  await ctx?.close();
});

const inActivity = <A, R>(env: MockActivityEnvironment, fn: (input: A) => Promise<R>, input: A): Promise<R> => env.run(fn, input) as Promise<R>;
const activityEnv = (activityId: string, attempt = 1) =>
  new MockActivityEnvironment({ activityId, attempt, workflowExecution: { workflowId: 'w', runId: 'r-1' } }, { logger: quiet });

describe('recordRunState', () => {
  it('updates the row, appends status/step/approval events once per call even when retried, and announces on the runs topic', async () => {
    const runId = await createRunRow(ctx.db.em);
    const { recordRunState } = createRunStateActivities({ ...ctx, em: ctx.db.em });
    const sub = ctx.redis.duplicate();
    const announced: Array<{ op: string; run: Record<string, unknown> }> = [];
    await sub.subscribe(ctx.keys.runsChannel);
    sub.on('message', (_ch, msg) => announced.push(JSON.parse(msg)));

    await inActivity(activityEnv('1'), recordRunState, { runId, status: 'running', step: 'plan' });
    // A retry of the same activity (same activityId, next attempt) must not add events again.
    await inActivity(activityEnv('1', 2), recordRunState, { runId, status: 'running', step: 'plan' });
    const approval = { decision: 'approved' as const, by: 'u', byEmail: 'a@example.test', comment: 'ok', at: new Date().toISOString() };
    await inActivity(activityEnv('2'), recordRunState, { runId, approval, status: 'running', step: 'apply' });
    await inActivity(activityEnv('3'), recordRunState, { runId, status: 'succeeded', step: null, summary: { add: 1, change: 0, destroy: 0 } });
    // Terminal is sticky: a late report cannot resurrect the run.
    await inActivity(activityEnv('4'), recordRunState, { runId, status: 'running' });

    const events = await ctx.events.list(runId, 0, 100);
    expect(events.map((e) => `${e.type}:${e.message}`)).toEqual([
      'status:running',
      'step:step plan',
      'approval:approved by a@example.test: ok',
      'status:running',
      'step:step apply',
      'status:succeeded',
      'status:running',
    ]);
    const row = await findRun(ctx.db.em.fork(), runId);
    expect(row).toMatchObject({ status: 'succeeded', step: null, approval, summary: { add: 1, change: 0, destroy: 0 } });
    expect(row?.finishedAt).toBeInstanceOf(Date);

    const mine = await until('five announcements', async () => {
      const got = announced.filter((a) => a.run.id === runId);
      return got.length >= 5 ? got : undefined;
    }, 5000, 20);
    expect(mine[0]).toEqual({ op: 'run', run: { id: runId, status: 'running', kind: 'terraform', team: expect.stringMatching(/^t-/), target: expect.any(String), step: 'plan' } });
    expect(mine.at(-1)?.run.status).toBe('succeeded');
    sub.disconnect();
  });
});

describe('reconcileRuns', () => {
  it('repairs rows whose workflow ended (or never started) without reporting, and leaves running ones alone', async () => {
    const { reconcileRuns } = createReconcileActivities({ ...ctx, em: ctx.db.em, temporal });
    const neverStarted = await createRunRow(ctx.db.em);
    const terminated = await createRunRow(ctx.db.em);
    const running = await createRunRow(ctx.db.em);
    // Nobody polls this queue: the workflows just exist until terminated.
    const taskQueue = `nobody-${crypto.randomUUID()}`;
    await temporal.workflow.start('terraformRun', { taskQueue, workflowId: terminated, args: [] });
    await temporal.workflow.getHandle(terminated).terminate('operator pulled the plug');
    const live = await temporal.workflow.start('terraformRun', { taskQueue, workflowId: running, args: [] });
    // Only these rows look stale to the sweep; other test files' active rows are younger.
    await ctx.db.em.getConnection().execute(`update runs set updated_at = now() - interval '2 days' where id in (?, ?, ?)`, [neverStarted, terminated, running]);

    const result = await inActivity(new MockActivityEnvironment({}, { logger: quiet }), reconcileRuns, { olderThanMs: 24 * 3600 * 1000, limit: 50 });
    expect(result.repaired).toEqual(expect.arrayContaining([
      { runId: neverStarted, status: 'failed' },
      { runId: terminated, status: 'failed' },
    ]));
    expect(result.repaired.map((r) => r.runId)).not.toContain(running);
    expect((await findRun(ctx.db.em.fork(), terminated))?.error).toMatch(/terminated: operator pulled the plug/);
    expect((await findRun(ctx.db.em.fork(), running))?.status).toBe('queued');
    const events = await ctx.events.list(terminated, 0, 10);
    expect(events.map((e) => e.message)).toEqual(['failed (repaired by the reconciler)']);
    await live.terminate('test over');
  });

  it('leaves alone a scheduled run whose fire is still running: the fire starts its workflow when it gets to it', async () => {
    const { reconcileRuns } = createReconcileActivities({ ...ctx, em: ctx.db.em, temporal });
    const scheduleId = crypto.randomUUID();
    // A schedule whose fires nobody runs yet (workers backed up): each fire waits to start its run.
    const schedule = await temporal.schedule.create({
      scheduleId: temporalScheduleId(scheduleId),
      spec: { intervals: [{ every: '365 days' }] },
      action: { type: 'startWorkflow', workflowType: 'scheduledRun', taskQueue: `nobody-${crypto.randomUUID()}`, workflowId: fireWorkflowIdPrefix(scheduleId), args: [{ scheduleId }] },
    });
    try {
      await schedule.trigger();
      const fire = await until('the fire to be taken', async () => (await schedule.describe()).info.recentActions[0]?.action.workflow.workflowId, 20_000);
      const runId = runIdOfFire(fire);
      const { teamId } = await createRunWithTeam(ctx.db.em);
      const userId = (await ctx.db.em.getConnection().execute<{ id: string }[]>('select id from users limit 1'))[0]!.id;
      await insertRun(ctx.db.em, { id: teamId }, userId, { id: runId, status: 'queued', requester: { type: 'schedule', id: scheduleId, label: 'nightly' } });
      await ctx.db.em.getConnection().execute(`update runs set updated_at = now() - interval '2 days' where id = ?`, [runId]);

      const result = await inActivity(new MockActivityEnvironment({}, { logger: quiet }), reconcileRuns, { olderThanMs: 24 * 3600 * 1000, limit: 50 });
      expect(result.repaired.map((r) => r.runId)).not.toContain(runId);
      expect((await findRun(ctx.db.em.fork(), runId))?.status).toBe('queued');
      // Once the fire is gone without starting it, the run is repaired as never started.
      await temporal.workflow.getHandle(fire).terminate('test over');
      const again = await inActivity(new MockActivityEnvironment({}, { logger: quiet }), reconcileRuns, { olderThanMs: 24 * 3600 * 1000, limit: 50 });
      expect(again.repaired).toContainEqual({ runId, status: 'failed' });
    } finally {
      await schedule.delete();
    }
  });
});
