import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { stripVTControlCharacters } from 'node:util';
import { ActivityCancellationDetails, ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { RunEvent } from '../../contracts/events.ts';
import { terraformParamsSchema, type TerraformParams } from '../../contracts/kinds/terraform.ts';
import { FAILURE_TYPES } from '../../contracts/temporal.ts';
import { stateSchema } from '../../activities/terraform/state.ts';
import { createRunWithTeam, insertRun } from '../fixtures/runs.ts';
import { keepUnsavedState } from '../../db/repositories/terraform-states.ts';
import { badHcl, destroyThenOutage, ownBackend, resources, slowApply, expectStoppedMidProvisioner } from '../fixtures/terraform/configs.ts';
import { peerContext } from '../peers/context.ts';
import { createDatabase, dropDatabase } from '../peers/postgres.ts';
import { initOrm, type Db } from '../../db/orm.ts';
import { until } from '../fixtures/until.ts';
import { workerActivities, type WorkerActivities } from '../peers/activities.ts';

// A password in the state URL (trust auth ignores it) so the test can check it never reaches an event.
const STATE_PASSWORD = 'never-in-logs-7c1e';
let ctx: Awaited<ReturnType<typeof peerContext>>;
// Terraform's pg backend takes one database-wide lock to create a workspace, so first plans in other
// test files would make these (retry-less) activity calls fail at random: state gets a database of its own.
const stateDbName = `${process.env.TEST_DB_NAME}_activity_tfstate`;
let stateDbUrl: string;
let stateDb: Db;

const workers: WorkerActivities[] = [];
/** Activities as one worker would build them: each has its own work dir and host id, like separate machines. */
async function worker() {
  const stateUrl = new URL(stateDbUrl);
  stateUrl.password = STATE_PASSWORD;
  const w = await workerActivities(ctx, { stateUrl: stateUrl.toString() });
  workers.push(w);
  return w.activities;
}
const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
const mockEnv = (attempt = 1) => new MockActivityEnvironment({ attempt, heartbeatTimeoutMs: 1000 }, { logger: quiet });
/** Runs an activity in a mock Temporal activity context (attempt, heartbeats, cancellation), keeping its types. */
const inActivity = <A, R>(env: MockActivityEnvironment, fn: (input: A) => Promise<R>, input: A): Promise<R> => env.run(fn, input) as Promise<R>;
const params = (files: Record<string, string>, extra: Partial<TerraformParams> = {}): TerraformParams =>
  terraformParamsSchema.parse({ workspace: `w${crypto.randomUUID().slice(0, 8)}`, files, ...extra });
const eventsOf = async (runId: string): Promise<RunEvent[]> => ctx.events.list(runId, 0, 5000);


beforeAll(async () => {
  ctx = await peerContext();
  stateDbUrl = await createDatabase(stateDbName);
  stateDb = await initOrm(stateDbUrl, { poolMax: 1 });
});
afterAll(async () => {
  for (const w of workers) await w.close();
  await stateDb.close();
  await dropDatabase(stateDbName);
  await ctx.close();
});

describe('terraformPlan / terraformApply against the pg backend', () => {
  it('summarises add/change/destroy, applies a plan made by another worker, then plans no changes', async () => {
    const { runId, teamId } = await createRunWithTeam(ctx.db.em);
    const first = params(resources({ a: {}, b: {}, c: {} }));
    const plan1 = await inActivity(mockEnv(), (await worker()).terraformPlan, { runId, teamId, step: `plan-${crypto.randomUUID()}`, params: first });
    expect(plan1).toMatchObject({ hasChanges: true, summary: { add: 3, change: 0, destroy: 0 } });
    await inActivity(mockEnv(), (await worker()).terraformApply, { runId, teamId, step: `apply-${plan1.planId}`, params: first, planId: plan1.planId });

    // a: input changes (update), b: replaced, c: removed, d: new.
    const second = { ...first, files: resources({ a: { input: 'a2' }, b: { replace: 'r1' }, d: {} }) };
    const plan2 = await inActivity(mockEnv(), (await worker()).terraformPlan, { runId, teamId, step: `plan-${crypto.randomUUID()}`, params: second });
    expect(plan2).toMatchObject({ hasChanges: true, summary: { add: 2, change: 1, destroy: 2 } });
    await inActivity(mockEnv(), (await worker()).terraformApply, { runId, teamId, step: `apply-${plan2.planId}`, params: second, planId: plan2.planId });

    // The same apply step again, as after a worker died before its answer reached Temporal: it reads
    // the recorded launch and answers applied, applying nothing more (plan3 below has no changes).
    await expect(inActivity(mockEnv(2), (await worker()).terraformApply, { runId, teamId, step: `apply-${plan2.planId}`, params: second, planId: plan2.planId })).resolves.toEqual({ applied: true });

    const plan3 = await inActivity(mockEnv(), (await worker()).terraformPlan, { runId, teamId, step: `plan-${crypto.randomUUID()}`, params: second });
    expect(plan3).toMatchObject({ hasChanges: false, summary: { add: 0, change: 0, destroy: 0 } });

    const state = await stateDb.em.getConnection().execute(`select name from "${stateSchema(teamId, first.workspace)}".states`);
    expect(state).toEqual([{ name: 'default' }]);
  });

  it('streams output as log events, in order, with the activity attempt, and never the state credentials', async () => {
    const { runId, teamId } = await createRunWithTeam(ctx.db.em);
    await inActivity(mockEnv(3), (await worker()).terraformPlan, { runId, teamId, step: "plan-1", params: params(resources({ a: {} })) });
    const events = await eventsOf(runId);
    expect(events.every((e) => e.type === 'log' && e.attempt === 3)).toBe(true);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    // Terraform's colours are kept for the viewer; the words are what is checked here.
    const messages = events.map((e) => stripVTControlCharacters(e.message));
    const at = (re: RegExp) => messages.findIndex((m) => re.test(m));
    expect(at(/^\$ terraform init/)).toBe(0);
    expect(at(/Terraform has been successfully initialized/)).toBeGreaterThan(0);
    expect(at(/^\$ terraform plan/)).toBeGreaterThan(at(/successfully initialized/));
    expect(at(/Plan: 1 to add, 0 to change, 0 to destroy/)).toBeGreaterThan(at(/^\$ terraform plan/));
    expect(events[at(/Plan: 1 to add/)]?.stream).toBe('stdout');
    expect(JSON.stringify(events)).not.toContain(STATE_PASSWORD);
  });

  it('refuses a saved plan whose state changed since (StalePlan, not retryable)', async () => {
    const { runId, teamId } = await createRunWithTeam(ctx.db.em);
    const p = params(resources({ a: {} }));
    const w = await worker();
    const one = await inActivity(mockEnv(), w.terraformPlan, { runId, teamId, step: `plan-${crypto.randomUUID()}`, params: p });
    const two = await inActivity(mockEnv(), w.terraformPlan, { runId, teamId, step: `plan-${crypto.randomUUID()}`, params: p });
    await inActivity(mockEnv(), w.terraformApply, { runId, teamId, step: `apply-${one.planId}`, params: p, planId: one.planId });
    const err = await inActivity(mockEnv(), w.terraformApply, { runId, teamId, step: `apply-${two.planId}`, params: p, planId: two.planId }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ type: FAILURE_TYPES.stalePlan, nonRetryable: true });
  });

  it('does not launch an apply again after it began a change the state does not record, however the error reads', async () => {
    const { runId, teamId } = await createRunWithTeam(ctx.db.em);
    const workspace = `w${crypto.randomUUID().slice(0, 8)}`;
    const w = await worker();
    const first = params(destroyThenOutage('r0'), { workspace });
    const made = await inActivity(mockEnv(), w.terraformPlan, { runId, teamId, step: 'plan-1', params: first });
    await inActivity(mockEnv(), w.terraformApply, { runId, teamId, step: 'apply-1', params: first, planId: made.planId });
    // Replacing it runs the destroy-time provisioner first, which fails with a network error.
    const second = params(destroyThenOutage('r1'), { workspace });
    const replace = await inActivity(mockEnv(), w.terraformPlan, { runId, teamId, step: 'plan-2', params: second });
    const attempt = (n: number) => inActivity(mockEnv(n), w.terraformApply, { runId, teamId, step: 'apply-2', params: second, planId: replace.planId });
    // Temporal's retries: each attempt that fails retryably is followed by another.
    let err: unknown;
    for (let n = 1; n <= 3; n++) {
      err = await attempt(n).then(() => undefined, (e: unknown) => e);
      if (!(err instanceof Error) || (err instanceof ApplicationFailure && err.nonRetryable)) break;
    }
    expect(err).toMatchObject({ type: FAILURE_TYPES.needsAttention, nonRetryable: true });
    expect((err as Error).message).toContain('terraform_data.x');
    const ran = (await eventsOf(runId)).filter((e) => stripVTControlCharacters(e.message) === 'terraform_data.x (local-exec): destroy-ran');
    expect(ran).toHaveLength(1);
  });

  it('pushes a state an earlier run could not save before a later run of the workspace plans', async () => {
    const { runId, teamId } = await createRunWithTeam(ctx.db.em);
    const p = params(resources({ a: {} }));
    const schema = stateSchema(teamId, p.workspace);
    const w = await worker();
    const made = await inActivity(mockEnv(), w.terraformPlan, { runId, teamId, step: 'plan-1', params: p });
    const stateNow = async () => (await stateDb.em.getConnection().execute<{ data: string }[]>(`select data from "${schema}".states where name = 'default'`))[0]!.data;
    const before = await stateNow();
    await inActivity(mockEnv(), w.terraformApply, { runId, teamId, step: 'apply-1', params: p, planId: made.planId });
    // As if the apply's save had failed and its push too: the state is only in OpsSight's copy.
    const applied = await stateNow();
    await stateDb.em.getConnection().execute(`update "${schema}".states set data = ? where name = 'default'`, [before]);
    const [launch] = await ctx.db.em.getConnection().execute<{ id: string }[]>(`select id from run_processes where run_id = ? and command = 'apply'`, [runId]);
    await keepUnsavedState(ctx.db.em.fork(), { runId, procId: launch!.id, schema, state: applied });

    const userId = (await ctx.db.em.getConnection().execute<{ requested_by_id: string }[]>('select requested_by_id from runs where id = ?', [runId]))[0]!.requested_by_id;
    const later = await insertRun(ctx.db.em, { id: teamId }, userId, { status: 'running' });
    const next = await inActivity(mockEnv(), w.terraformPlan, { runId: later, teamId, step: 'plan-1', params: p });
    // It knows `a` exists: nothing to create again.
    expect(next.hasChanges).toBe(false);
    expect(await ctx.db.em.getConnection().execute(`select id from terraform_unsaved_states where schema = ?`, [schema])).toEqual([]);
  });

  it('turns bad HCL into a non-retryable InvalidConfiguration naming the file and line, before terraform runs', async () => {
    const { runId, teamId } = await createRunWithTeam(ctx.db.em);
    const err = await inActivity(mockEnv(), (await worker()).terraformPlan, { runId, teamId, step: `plan-${crypto.randomUUID()}`, params: params(badHcl) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ type: FAILURE_TYPES.invalidConfig, nonRetryable: true });
    expect((err as Error).message).toMatch(/^main\.tf:\d+,\d+-[\d,]+: .*(Invalid expression|Argument or block)/s);
    expect(await eventsOf(runId)).toEqual([]);
  });

  it('rejects a configuration that brings its own backend before running anything', async () => {
    const { runId, teamId } = await createRunWithTeam(ctx.db.em);
    const err = await inActivity(mockEnv(), (await worker()).terraformPlan, { runId, teamId, step: `plan-${crypto.randomUUID()}`, params: params(ownBackend) }).catch((e: unknown) => e);
    expect(err).toMatchObject({ type: FAILURE_TYPES.invalidConfig, nonRetryable: true });
    expect(await eventsOf(runId)).toEqual([]);
  });

  it('refuses what the team\'s stored policy forbids, read when the step starts', async () => {
    const { runId, teamId } = await createRunWithTeam(ctx.db.em);
    const p = params(slowApply(1));
    const w = await worker();
    expect(await inActivity(mockEnv(), w.terraformPlan, { runId, teamId, step: 'plan-1', params: p })).toMatchObject({ hasChanges: true });
    await ctx.db.em.getConnection().execute(`update teams set settings = ?::jsonb where id = ?`, [JSON.stringify({ terraform: { forbidProvisioners: ['local-exec'] } }), teamId]);
    const err = await inActivity(mockEnv(), w.terraformPlan, { runId, teamId, step: 'plan-2', params: p }).catch((e: unknown) => e);
    expect(err).toMatchObject({ type: FAILURE_TYPES.policy, nonRetryable: true });
    expect((err as Error).message).toContain('main.tf line 4: the team\'s policy forbids "local-exec" provisioners');
  });

  it('on cancellation interrupts terraform (SIGINT), which releases the state lock', async () => {
    const { runId, teamId } = await createRunWithTeam(ctx.db.em);
    const p = params(slowApply(60));
    const w = await worker();
    const plan = await inActivity(mockEnv(), w.terraformPlan, { runId, teamId, step: `plan-${crypto.randomUUID()}`, params: p });
    const env = mockEnv();
    const heartbeats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => heartbeats.push(d));
    const started = Date.now();
    const apply = inActivity(env, w.terraformApply, { runId, teamId, step: `apply-${plan.planId}`, params: p, planId: plan.planId }).catch((e: unknown) => e);
    await until('the provisioner to start', async () => ((await eventsOf(runId)).some((e) => e.message.includes('provisioner-started')) ? true : undefined));
    // A heartbeat is how a cancellation reaches a real activity; the process keeps sending them while silent.
    await until('a heartbeat while terraform is silent', async () => (heartbeats.length > 0 ? true : undefined));
    env.cancel();
    const err = await apply;
    expect(err).toBeInstanceOf(CancelledFailure);
    expect(Date.now() - started).toBeLessThan(30_000);
    const messages = (await eventsOf(runId)).map((e) => e.message);
    expectStoppedMidProvisioner(messages);
    expect(messages).not.toContain('provisioner-done');

    // The lock is free: a plan on the same workspace (which locks the state) goes through.
    const again = await inActivity(mockEnv(), (await worker()).terraformPlan, { runId, teamId, step: `plan-${crypto.randomUUID()}`, params: p });
    expect(again.hasChanges).toBe(true);
  });

  it('stops an apply its ended run left running on this host, storing what it printed and naming what it had begun', async () => {
    const { runId, teamId } = await createRunWithTeam(ctx.db.em);
    const p = params(slowApply(60));
    const w = await worker();
    const plan = await inActivity(mockEnv(), w.terraformPlan, { runId, teamId, step: `plan-${crypto.randomUUID()}`, params: p });
    const step = { runId, teamId, step: `apply-${plan.planId}`, params: p, planId: plan.planId };
    const first = mockEnv();
    const lost = inActivity(first, w.terraformApply, step).catch((e: unknown) => e);
    await until('the provisioner to start', async () => ((await eventsOf(runId)).some((e) => e.message.includes('provisioner-started')) ? true : undefined));
    // Its worker goes, the run is cancelled without it and ends: its saved plans are discarded.
    first.cancel('TIMED_OUT', new ActivityCancellationDetails({ timedOut: true }));
    await lost;
    await ctx.db.em.getConnection().execute(`update runs set status = 'cancelled' where id = ?`, [runId]);
    await ctx.db.em.getConnection().execute('delete from terraform_plans where run_id = ?', [runId]);

    expect(await inActivity(mockEnv(), w.terraformStopApply, step)).toEqual({ running: true });
    const messages = (await eventsOf(runId)).map((e) => stripVTControlCharacters(e.message));
    // What terraform prints races its provisioner, which the same SIGINT ends (stoppedMidProvisioner):
    // what the runner saw (interrupted, then an exit code) is what the note says.
    expect(messages.at(-1)).toMatch(/^the apply still running on host \S+ after the run ended was interrupted there and has stopped \(exit code \d+\): it had begun changing terraform_data\.slow; the state records what it completed/);
    expect(messages).not.toContain('provisioner-done');
  });
});
