// Child process of bench/live-events.ts: the process runner, in a process of its own as it is on a
// worker, so its tail and commits do not share an event loop with the /ws hub being measured. Told a
// run and a command line over IPC, it runs it to the end and answers `done`.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createProcessRunner } from '../activities/process/runner.ts';
import { peerContext } from '../test/peers/context.ts';

export type RunnerJob = { runId: string; bin: string; args: string[] };

const ctx = await peerContext();
process.once('message', async (job: RunnerJob) => {
  const cpuAtStart = process.cpuUsage();
  const runner = createProcessRunner({ em: ctx.db.em, databaseUrl: ctx.config.DATABASE_URL, events: ctx.events, logger: ctx.logger, hostId: 'bench', graceMs: 1_000 });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'opssight-bench-'));
  const env = new MockActivityEnvironment({ attempt: 1, heartbeatTimeoutMs: 10_000 });
  await env.run(() =>
    runner.exec({
      runId: job.runId, step: 'bench', command: 'emit', sideEffects: false,
      bin: job.bin, args: job.args, env: { PATH: process.env.PATH! },
      cwd: dir, stepDir: dir, sandbox: null, header: '$ emit', secrets: [],
    }),
  );
  await ctx.events.published();
  await ctx.close();
  const used = process.cpuUsage(cpuAtStart);
  process.send!({ type: 'done', cpuMs: (used.user + used.system) / 1000 }, () => process.exit(0));
});
process.send!({ type: 'ready' });
