import { rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { approveUpdate, stateQuery } from '../../contracts/temporal.ts';
import { keyringFromConfig } from '../../core/secrets/keyring.ts';
import type { AnsibleRunInput } from '../../workflows/ansible-run.ts';
import { ansibleParams, hostsDir, inventoryOf, storeSshIntegration, writeFilePlaybook } from '../fixtures/ansible.ts';
import { createRunWithTeam } from '../fixtures/runs.ts';
import { peerContext } from '../peers/context.ts';
import { startSshd } from '../peers/sshd.ts';
import { startTestWorker } from '../peers/worker.ts';
import { HISTORIES_DIR, historyToPlainJson } from './record-histories.ts';

/**
 * Runs a real ansibleRun (real worker, activities, ansible-playbook, two sshd hosts): check, approve,
 * play. Writes its history for the replay test. After an intended change to the workflow:
 *   RECORD_HISTORIES=ansible npm test -- test/workflows/replay.test.ts
 */
export async function recordAnsibleHistories(): Promise<string[]> {
  const ctx = await peerContext();
  const taskQueue = `record-${crypto.randomUUID()}`;
  const worker = await startTestWorker({}, { taskQueues: [taskQueue] });
  const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  const client = new Client({ connection });
  const [web1, web2] = await Promise.all([startSshd(), startSshd()]);
  const dir = hostsDir();
  try {
    const { runId, teamId } = await createRunWithTeam(ctx.db.em, 'ansible');
    const keyring = keyringFromConfig(ctx.config);
    const integration = async (peer: typeof web1) =>
      storeSshIntegration(ctx.db.em, keyring, teamId, { user: peer.user, hostKeys: [peer.knownHostsLine], privateKey: peer.clientKey.privateKey });
    const input: AnsibleRunInput = {
      runId,
      teamId,
      params: ansibleParams({ inventory: inventoryOf([{ peer: web1, integration: await integration(web1) }, { peer: web2, integration: await integration(web2) }]), playbook: writeFilePlaybook(dir) }),
      approvalTimeoutMs: 60_000,
      heartbeatTimeoutMs: 5_000,
    };
    const handle = await client.workflow.start('ansibleRun', { taskQueue, workflowId: runId, args: [input] });
    while ((await handle.query(stateQuery)).status !== 'awaiting_approval') await new Promise((r) => setTimeout(r, 50));
    await handle.executeUpdate(approveUpdate, { args: [{ userId: 'u1', email: 'recorder@example.test', comment: 'approve' }] });
    const result = await handle.result();
    if (result.status !== 'succeeded') throw new Error(`the recorded run ended ${result.status}`);
    const file = path.join(HISTORIES_DIR, 'ansible-run-approved.json');
    await writeFile(file, `${JSON.stringify(historyToPlainJson(await handle.fetchHistory()), null, 1)}\n`);
    return [file];
  } finally {
    await Promise.all([web1.stop(), web2.stop()]);
    rmSync(dir, { recursive: true, force: true });
    await worker.shutdown();
    await connection.close();
    await ctx.close();
  }
}
