import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { ActivityCancellationDetails } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DetachedError } from '../../activities/process/follow-lock.ts';
import type { CommandSpec } from '../../activities/process/command.ts';
import { createProcessRunner } from '../../activities/process/runner.ts';
import { createRunRow } from '../fixtures/runs.ts';
import { until } from '../fixtures/until.ts';
import { peerContext } from '../peers/context.ts';

// An attempt that is alive but missed its heartbeat timeout is replaced while it still follows its
// launch. The replacement must wait until the old attempt lets go, then resume from what is stored:
// every output line stored once, in order.
let ctx: Awaited<ReturnType<typeof peerContext>>;
const dir = mkdtempSync(path.join(os.tmpdir(), 'opssight-follow-lock-'));
const LINES = 60;
const go = (n: number) => path.join(dir, `go-${n}`);
const part = (from: number, to: number) => `for i in $(seq ${from} ${to}); do echo line-$i; sleep 0.01; done`;
const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
const attemptEnv = (attempt: number) => new MockActivityEnvironment({ attempt, heartbeatTimeoutMs: 2_000 }, { logger: quiet });

/** A second attempt, as Temporal starts one for an attempt it gave up on; resolved once it waits for the follow lock (its first heartbeat). */
async function waitingAttempt<T>(work: () => Promise<T>): Promise<{ done: Promise<T> }> {
  const second = attemptEnv(2);
  const waits = once(second, 'heartbeat');
  const done = second.run(work) as Promise<T>;
  await waits;
  // Wrapped: an async function would wait for a promise it returns.
  return { done };
}

beforeAll(async () => {
  ctx = await peerContext();
});
afterAll(async () => {
  await ctx?.close();
  rmSync(dir, { recursive: true, force: true });
});

it('a second attempt following the same launch waits for the first to let go, then stores each line once', async () => {
  const runner = createProcessRunner({ em: ctx.db.em, databaseUrl: ctx.config.DATABASE_URL, events: ctx.events, logger: ctx.logger, hostId: 'h-lock', graceMs: 1_000 });
  const runId = await createRunRow(ctx.db.em);
  const spec: CommandSpec = {
    runId, step: 'emit', command: 'emit', sideEffects: false,
    // Three parts, each after the test says go: the launch outlives the first attempt however slow the machine.
    bin: 'sh',
    args: ['-c', [part(1, 20), `while [ ! -e ${go(1)} ]; do sleep 0.05; done`, part(21, 40), `while [ ! -e ${go(2)} ]; do sleep 0.05; done`, part(41, LINES)].join('; ')],
    env: { PATH: process.env.PATH! },
    cwd: dir, stepDir: dir, sandbox: null, header: '$ emit', secrets: [],
  };
  const logs = async () => (await ctx.events.list(runId, 0, 1_000)).filter((e) => e.type === 'log').map((e) => ({ message: e.message, attempt: e.attempt }));

  const first = attemptEnv(1);
  const firstDone = first.run(() => runner.exec(spec)).catch((err: unknown) => err);
  // The header and the first part.
  await until('the first attempt to store the first part', async () => ((await logs()).length === 21 ? true : undefined), 30_000, 20);
  const proc = (await runner.latest(spec))!;

  const { done: secondDone } = await waitingAttempt(() => runner.attach(proc, spec));
  // While the first still follows, lines flow and the second stores none of them.
  writeFileSync(go(1), '');
  await until('the first attempt to store the second part', async () => ((await logs()).length === 41 ? true : undefined), 30_000, 20);
  expect((await logs()).filter((l) => l.attempt === 2)).toEqual([]);

  // The first learns it is no longer current (as at its next heartbeat) and lets go.
  first.cancel('NOT_FOUND', new ActivityCancellationDetails({ notFound: true }));
  expect(await firstDone).toBeInstanceOf(DetachedError);
  writeFileSync(go(2), '');
  const ending = await secondDone;
  expect(ending).toMatchObject({ kind: 'exited', code: 0 });

  const stored = await logs();
  expect(stored.map((l) => l.message)).toEqual(['$ emit', ...Array.from({ length: LINES }, (_, i) => `line-${i + 1}`)]);
  expect(new Set(stored.map((l) => l.attempt))).toEqual(new Set([1, 2]));
}, 60_000);

it('a waiting attempt takes the ending the first one recorded, even once the launch\'s files are gone', async () => {
  const runner = createProcessRunner({ em: ctx.db.em, databaseUrl: ctx.config.DATABASE_URL, events: ctx.events, logger: ctx.logger, hostId: 'h-lock', graceMs: 1_000 });
  const runId = await createRunRow(ctx.db.em);
  const stepDir = mkdtempSync(path.join(dir, 'step-'));
  const spec: CommandSpec = {
    runId, step: 'play', command: 'play', sideEffects: true,
    bin: 'sh', args: ['-c', `echo started; while [ ! -e ${go(3)} ]; do sleep 0.05; done; echo done`],
    env: { PATH: process.env.PATH! },
    cwd: dir, stepDir, sandbox: null, header: '$ play', secrets: [],
  };
  const first = attemptEnv(1);
  const firstDone = first.run(() => runner.start(spec, 1));
  await until('the launch to be recorded', async () => (await runner.latest(spec)) ?? undefined, 30_000, 20);
  const proc = (await runner.latest(spec))!;
  const { done: secondDone } = await waitingAttempt(() => runner.attach(proc, spec));

  // The play ends while the second waits; the first records it, and its caller removes the step's files (as a finished play's does).
  writeFileSync(go(3), '');
  expect(await firstDone).toMatchObject({ kind: 'exited', code: 0 });
  rmSync(stepDir, { recursive: true, force: true });
  expect(await secondDone).toMatchObject({ kind: 'exited', code: 0 });
  expect((await runner.latest(spec))?.outcome).toBe('exited');
}, 60_000);
