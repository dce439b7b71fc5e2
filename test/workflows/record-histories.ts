import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { approveUpdate, rejectUpdate, stateQuery, type TerraformRunInput } from '../../contracts/temporal.ts';
import { createRunWithTeam } from '../fixtures/runs.ts';
import { resources } from '../fixtures/terraform/configs.ts';
import { peerContext } from '../peers/context.ts';
import { startTestWorker } from '../peers/worker.ts';
import { recordSshCommandHistories } from './record-ssh-command-histories.ts';

const { History } = temporal.api.history.v1;

/**
 * protobufjs' own object form (not proto3-JSON): Temporal's historyFromJSON fails here because npm
 * installed two copies of protobufjs 8 (one under @temporalio/common, one under @temporalio/proto) and
 * its `instanceof Type` check sees the other copy. toObject/fromObject round-trip exactly.
 */
export const historyToPlainJson = (h: temporal.api.history.v1.IHistory) =>
  History.toObject(History.fromObject(h), { longs: String, enums: String, bytes: String });
export const historyFromPlainJson = (json: unknown) => History.fromObject(json as Record<string, unknown>);

export const HISTORIES_DIR = path.join(import.meta.dirname, '../fixtures/histories');

/**
 * Runs real terraformRun executions (real worker, activities, terraform) and writes their event
 * histories as JSON for the replay test. Run it after an intended change to the workflow:
 *   RECORD_HISTORIES=1 npm test -- test/workflows/replay.test.ts
 */
export async function recordHistories(): Promise<string[]> {
  const ctx = await peerContext();
  const taskQueue = `record-${crypto.randomUUID()}`;
  const worker = await startTestWorker({}, { taskQueues: [taskQueue] });
  const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  const client = new Client({ connection });
  const written: string[] = [];
  try {
    const record = async (name: string, decide: 'approve' | 'reject') => {
      const { runId, teamId } = await createRunWithTeam(ctx.db.em);
      const input: TerraformRunInput = {
        runId,
        teamId,
        params: { workspace: `rec${runId.slice(0, 8)}`, files: resources({ a: {}, b: {} }), variables: { label: 'x' }, autoApply: false },
        approvalTimeoutMs: 60_000,
        heartbeatTimeoutMs: 5_000,
      };
      const handle = await client.workflow.start('terraformRun', { taskQueue, workflowId: runId, args: [input] });
      while ((await handle.query(stateQuery)).status !== 'awaiting_approval') await new Promise((r) => setTimeout(r, 50));
      const decision = { userId: 'u1', email: 'recorder@example.test', comment: decide };
      await handle.executeUpdate(decide === 'approve' ? approveUpdate : rejectUpdate, { args: [decision] });
      await handle.result().catch(() => undefined);
      const file = path.join(HISTORIES_DIR, `${name}.json`);
      await writeFile(file, `${JSON.stringify(historyToPlainJson(await handle.fetchHistory()), null, 1)}\n`);
      written.push(file);
    };
    await record('terraform-run-approved', 'approve');
    await record('terraform-run-rejected', 'reject');
    written.push(...(await recordSshCommandHistories()));
  } finally {
    await worker.shutdown();
    await connection.close();
    await ctx.close();
  }
  return written;
}
