import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { approveUpdate, stateQuery, TASK_QUEUES, type TerraformRunInput } from '../../contracts/temporal.ts';
import type { RunStatus } from '../../contracts/runs.ts';
import pg from 'pg';
import { stateSchema } from '../../activities/terraform/state.ts';
import { findRun } from '../../db/repositories/runs.ts';
import { createRunWithTeam } from '../fixtures/runs.ts';
import { slowApply } from '../fixtures/terraform/configs.ts';
import { peerContext } from '../peers/context.ts';
import { createNamespace } from '../peers/temporal.ts';
import { spawnWorkerProcess, stopProcess } from '../peers/processes.ts';
import { until } from '../fixtures/until.ts';

let ctx: Awaited<ReturnType<typeof peerContext>>;
let connection: Connection;
let client: Client;
const namespace = `crash-${crypto.randomUUID().slice(0, 8)}`;
const children: ChildProcess[] = [];
const workerEnv = {
  TEMPORAL_NAMESPACE: namespace,
  WORK_DIR: mkdtempSync(path.join(os.tmpdir(), 'opssight-crash-')),
  CANCEL_GRACE_MS: '1000',
  LOG_LEVEL: 'info',
};

beforeAll(async () => {
  ctx = await peerContext();
  connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  await createNamespace(connection, namespace);
  client = new Client({ connection, namespace });
});
afterAll(async () => {
  for (const child of children) await stopProcess(child, 'SIGKILL');
  await connection?.close();
  await ctx?.close();
});

const status = async (handle: WorkflowHandle): Promise<RunStatus> => (await handle.query(stateQuery)).status;
const approve = (handle: WorkflowHandle, comment: string) =>
  handle.executeUpdate(approveUpdate, { args: [{ userId: 'u1', email: 'approver@example.test', comment }] });

it('a run whose worker process is SIGKILLed mid-apply finishes on another worker, with the state applied once', async () => {
  const { runId, teamId } = await createRunWithTeam(ctx.db.em);
  const workspace = `crash${runId.slice(0, 8)}`;
  const first = await spawnWorkerProcess(workerEnv);
  children.push(first.child);

  const input: TerraformRunInput = {
    runId,
    teamId,
    params: { workspace, files: slowApply(5), variables: {}, autoApply: false },
    approvalTimeoutMs: 120_000,
    heartbeatTimeoutMs: 2_000,
  };
  const handle = await client.workflow.start('terraformRun', { taskQueue: TASK_QUEUES.infra, workflowId: runId, args: [input] });
  await until('approval', async () => ((await status(handle)) === 'awaiting_approval' ? true : undefined));
  await approve(handle, 'first');
  await until('the apply to be running', async () =>
    (await ctx.events.list(runId, 0, 5000)).some((e) => e.message.includes('provisioner-started')) ? true : undefined,
  );

  // A crash, not a shutdown: no cleanup runs in the worker. Its terraform keeps going as an orphan.
  first.child.kill('SIGKILL');
  await new Promise((r) => first.child.once('exit', r));
  const second = await spawnWorkerProcess(workerEnv);
  children.push(second.child);

  // If the orphaned apply changed the state first, the saved plan is stale and the run plans again;
  // a plan with changes then needs a fresh approval.
  const outcome = await until('the run to end or ask again', async () => {
    const desc = await handle.describe();
    if (desc.status.name !== 'RUNNING') return 'closed';
    return (await status(handle)) === 'awaiting_approval' ? 'approval' : undefined;
  }, 90_000);
  if (outcome === 'approval') await approve(handle, 'second');
  expect(await handle.result()).toMatchObject({ status: 'succeeded' });

  const row = await findRun(ctx.db.em.fork(), runId);
  expect(row?.status).toBe('succeeded');
  const stateDb = new pg.Client({ connectionString: ctx.config.TERRAFORM_STATE_DATABASE_URL });
  await stateDb.connect();
  const { rows: [state] } = await stateDb.query<{ data: string }>(`select data from "${stateSchema(teamId, workspace)}".states where name = 'default'`);
  await stateDb.end();
  const resources = (JSON.parse(state!.data) as { resources: Array<{ type: string; name: string; instances: unknown[] }> }).resources;
  expect(resources.map((r) => `${r.type}.${r.name}`)).toEqual(['terraform_data.slow']);
  expect(resources[0]!.instances).toHaveLength(1);

  // The retry happened on the second worker: later log lines carry a later attempt.
  const events = await ctx.events.list(runId, 0, 5000);
  expect(Math.max(...events.map((e) => e.attempt))).toBeGreaterThan(1);
  expect(await stopProcess(second.child)).toBe(0);
});
