import { existsSync } from 'node:fs';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { expect, it } from '@jest/globals';
import { until } from '../fixtures/until.ts';
import { stopProcess } from '../peers/processes.ts';
import { countedResources, useFaultStack } from './stack.ts';
import { recordFault, rounds } from './report.ts';

// Worker processes are killed with SIGKILL while terraform applies: no cleanup runs in them, their
// terraform keeps going. Every resource must still be created exactly once, every output line stored
// once, and the run must end succeeded on the next worker.
const stack = useFaultStack({ workers: 0 });
const RESOURCES = ['one', 'two', 'three'];
const BATCH = 5;

it('worker kill -9 mid-apply: every resource created exactly once, every line stored once', async () => {
  const total = rounds(BATCH, 20);
  const outcomes: Array<{ runId: string; ok: boolean; why: string }> = [];
  let workers = [await stack().worker(), await stack().worker()];
  for (let done = 0; done < total; done += BATCH) {
    const runs = await Promise.all(
      Array.from({ length: Math.min(BATCH, total - done) }, async () => {
        const tag = crypto.randomUUID().slice(0, 8);
        const runId = await stack().startRun({ workspace: `kill-${tag}`, files: countedResources(stack().effects, tag, RESOURCES), autoApply: true });
        return { runId, tag };
      }),
    );
    // Mid-apply for every run of the batch: at least one creation reported, the apply not finished. Five
    // plans at once took over 120 s in CI on a slow machine (31 s for the whole test alone): the bound
    // is for a run that never gets there, not a speed.
    await stack().untilRuns(runs.map((r) => r.runId), 'every apply to be under way', async () => (runs.every((r) => RESOURCES.some((n) => stack().effects.counts.has(`${r.tag}/${n}`))) ? true : undefined), 240_000);
    for (const w of workers) await stopProcess(w.child, 'SIGKILL');
    workers = [await stack().worker(), await stack().worker()];

    for (const { runId, tag } of runs) {
      const final = await stack().untilRuns([runId], `run ${runId} to end`, async () => {
        const s = await stack().status(runId);
        return ['succeeded', 'failed', 'cancelled'].includes(s.status) ? s : undefined;
      }, 180_000);
      const created = RESOURCES.map((n) => stack().effects.counts.get(`${tag}/${n}`) ?? 0);
      const lines = (await stack().logLines(runId)).map((l) => stripVTControlCharacters(l.message));
      const announced = RESOURCES.map((n) => lines.filter((l) => l === `terraform_data.${n} (local-exec): created-${n}`).length);
      // The workflow discards the saved plans as it ends, just after it records the outcome (a retried
      // apply step still needs its plan until then).
      const plansGone = await until(`saved plans of ${runId} to be discarded`, async () => ((await stack().query('select 1 from terraform_plans where run_id = $1', [runId])).length === 0 ? true : undefined), 60_000).catch(() => false);
      // The killed attempts' work dirs (saved plan, tfvars, output files) go once the run has ended.
      const dir = path.join(stack().workDirs.get('host-a')!, runId);
      const cleaned = await until(`work dir of ${runId} to be removed`, async () => (existsSync(dir) ? undefined : true), 60_000).catch(() => false);
      const ok = final.status === 'succeeded' && created.every((c) => c === 1) && announced.every((c) => c === 1) && plansGone && cleaned;
      outcomes.push({ runId, ok, why: `${final.status} ${final.error ?? ''} created=${created} lines=${announced} plansGone=${plansGone} dirRemoved=${cleaned}` });
    }
  }
  const passed = outcomes.filter((o) => o.ok).length;
  recordFault({ fault: 'worker kill -9 mid-apply', passed, rounds: outcomes.length, detail: 'each of 3 resources created once (effect counter), each output line stored once, run succeeded, saved plans and work dirs gone' });
  expect(outcomes.filter((o) => !o.ok)).toEqual([]);
}, 900_000);
