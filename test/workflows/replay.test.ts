import { beforeAll, expect, it } from '@jest/globals';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { quietTemporalRuntime, workflowBundle } from '../peers/worker.ts';
import { recordAnsibleHistories } from './record-ansible-histories.ts';
import { HISTORIES_DIR, historyFromPlainJson, recordHistories } from './record-histories.ts';

// Histories recorded from real runs replay against today's workflow code: a change that would make a
// running workflow non-deterministic (reordered or removed activities, timers, ...) fails here.
beforeAll(async () => {
  quietTemporalRuntime();
  if (process.env.RECORD_HISTORIES === '1') await recordHistories();
  if (process.env.RECORD_HISTORIES === '1' || process.env.RECORD_HISTORIES === 'ansible') await recordAnsibleHistories();
});

it('replays every recorded workflow history deterministically', async () => {
  const files = (await readdir(HISTORIES_DIR)).filter((f) => f.endsWith('.json')).sort();
  expect(files).toEqual(expect.arrayContaining(['terraform-run-approved.json', 'terraform-run-rejected.json', 'ansible-run-approved.json', 'ssh-command-run-approved.json', 'ssh-command-run-host-failed.json', 'cost-scan-run.json', 'cost-action-run-approved.json']));
  const bundle = await workflowBundle();
  for (const file of files) {
    const history = historyFromPlainJson(JSON.parse(await readFile(path.join(HISTORIES_DIR, file), 'utf8')));
    await expect(Worker.runReplayHistory({ workflowBundle: bundle }, history, file)).resolves.toBeUndefined();
  }
});
