import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { CommandSpec } from '../../activities/process/command.ts';
import { createProcessRunner } from '../../activities/process/runner.ts';
import { createRunRow } from '../fixtures/runs.ts';
import { until } from '../fixtures/until.ts';
import { peerContext } from '../peers/context.ts';
import { processAlive } from '../peers/processes.ts';

// A tool may start children in a session of their own (ansible-playbook's workers call setsid): the
// cancel's SIGINT to the launch's process group does not reach them, and one that missed its tool's
// own forwarding goes on with its work after the run says it was cancelled.
let ctx: Awaited<ReturnType<typeof peerContext>>;
const dir = mkdtempSync(path.join(os.tmpdir(), 'opssight-process-cancel-'));
const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };

// The parent waits for a child it started in its own session; the child would change something after 60 s.
const TOOL = `
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const child = spawn('sh', ['-c', 'sleep 60; touch "$0"', process.argv[2]], { detached: true, stdio: 'ignore' });
fs.writeFileSync(process.argv[1], String(child.pid));
console.log('working');
child.on('exit', () => process.exit(0));
`;

beforeAll(async () => {
  ctx = await peerContext();
});
afterAll(async () => {
  await ctx?.close();
  rmSync(dir, { recursive: true, force: true });
});

it('a cancel interrupts the processes of a launch that left its process group too', async () => {
  const runner = createProcessRunner({ em: ctx.db.em, databaseUrl: ctx.config.DATABASE_URL, events: ctx.events, logger: ctx.logger, hostId: 'h-strays', graceMs: 60_000 });
  const runId = await createRunRow(ctx.db.em);
  const pidFile = path.join(dir, 'child.pid');
  const changed = path.join(dir, 'changed');
  const spec: CommandSpec = {
    runId, step: 'run', command: 'tool', sideEffects: true,
    bin: process.execPath, args: ['-e', TOOL, pidFile, changed],
    env: { PATH: process.env.PATH! },
    cwd: dir, stepDir: dir, sandbox: null, header: '$ tool', secrets: [],
  };
  const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 2_000 }, { logger: quiet });
  const ending = env.run(() => runner.start(spec, 1)).catch((err: unknown) => err);
  await until('the tool to start its child', async () => ((await ctx.events.list(runId, 0, 100)).some((e) => e.message === 'working') ? true : undefined), 30_000);
  const childPid = Number(readFileSync(pidFile, 'utf8'));
  expect(processAlive(childPid)).toBe(true);

  env.cancel();
  await ending;
  // Within a few seconds, not the minute the child would otherwise run for.
  await until('the child in its own session to stop', async () => (processAlive(childPid) ? undefined : true), 10_000);
  expect(existsSync(changed)).toBe(false);
}, 60_000);
