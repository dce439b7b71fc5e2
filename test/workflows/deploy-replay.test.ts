import { beforeAll, expect, it } from '@jest/globals';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { deployParamsSchema, type DeployRunInput } from '../../contracts/kinds/deploy.ts';
import { keyringFromConfig } from '../../core/secrets/keyring.ts';
import { storeIntegration } from '../fixtures/deploy-integrations.ts';
import { createRunWithTeam } from '../fixtures/runs.ts';
import { peerContext } from '../peers/context.ts';
import { startKubeSim } from '../peers/kube-sim.ts';
import { quietTemporalRuntime, startTestWorker, workflowBundle } from '../peers/worker.ts';
import { HISTORIES_DIR, historyFromPlainJson, historyToPlainJson } from './record-histories.ts';

// deployRun histories recorded from real runs (real worker and activities, the Kubernetes API
// simulation) replay against today's workflow code. Record again after an intended change:
//   RECORD_HISTORIES=1 npm test -- test/workflows/deploy-replay.test.ts
beforeAll(async () => {
  quietTemporalRuntime();
  if (process.env.RECORD_HISTORIES === '1') await recordDeployHistories();
});

it('replays every recorded deployRun history deterministically', async () => {
  const files = (await readdir(HISTORIES_DIR)).filter((f) => f.startsWith('deploy-run-') && f.endsWith('.json')).sort();
  expect(files).toEqual(['deploy-run-rolled-back.json', 'deploy-run-succeeded.json']);
  const bundle = await workflowBundle();
  for (const file of files) {
    const history = historyFromPlainJson(JSON.parse(await readFile(path.join(HISTORIES_DIR, file), 'utf8')));
    await expect(Worker.runReplayHistory({ workflowBundle: bundle }, history, file)).resolves.toBeUndefined();
  }
});

async function recordDeployHistories(): Promise<void> {
  const ctx = await peerContext();
  const sim = await startKubeSim({ tickMs: 50 });
  const taskQueue = `record-${crypto.randomUUID()}`;
  const worker = await startTestWorker({}, { taskQueues: [taskQueue] });
  const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  const client = new Client({ connection });
  try {
    const record = async (file: string, image: string) => {
      const { runId, teamId } = await createRunWithTeam(ctx.db.em, 'deploy');
      const integration = await storeIntegration(ctx.db.em, keyringFromConfig(ctx.config), teamId, 'kubernetes', { server: sim.url, namespace: 'shop', caCert: sim.caCert }, { token: sim.token });
      const name = `rec-${runId.slice(0, 6)}`;
      sim.addDeployment('shop', name, { images: { app: 'registry.test/web:v1' }, replicas: 2 });
      const params = deployParamsSchema.parse({
        target: { platform: 'kubernetes', integration, deployment: name, images: { app: image }, progressDeadlineSeconds: 1 },
        verification: { checks: [{ url: sim.appUrl('shop', name) }], durationSeconds: 0, intervalSeconds: 1 },
      });
      const input: DeployRunInput = { runId, teamId, params, approvalTimeoutMs: 60_000, heartbeatTimeoutMs: 5_000 };
      const handle = await client.workflow.start('deployRun', { taskQueue, workflowId: runId, args: [input] });
      await handle.result().catch(() => undefined);
      await writeFile(path.join(HISTORIES_DIR, file), `${JSON.stringify(historyToPlainJson(await handle.fetchHistory()), null, 1)}\n`);
    };
    await record('deploy-run-succeeded.json', 'registry.test/web:v2');
    await record('deploy-run-rolled-back.json', 'registry.test/web:bad');
  } finally {
    await worker.shutdown();
    await connection.close();
    await sim.stop();
    await ctx.close();
  }
}
