import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { SshCommandRunInput } from '../../contracts/kinds/ssh-command.ts';
import { approveUpdate, stateQuery } from '../../contracts/temporal.ts';
import { keyringFromConfig } from '../../core/secrets/keyring.ts';
import { createRunWithTeam } from '../fixtures/runs.ts';
import { hostOf, storeSshIntegration } from '../fixtures/ssh-command.ts';
import { peerContext } from '../peers/context.ts';
import { startSshd } from '../peers/sshd.ts';
import { startTestWorker } from '../peers/worker.ts';
import { HISTORIES_DIR, historyToPlainJson } from './record-histories.ts';

/**
 * Real sshCommandRun executions (real worker and activities, two real sshd) written as histories for
 * the replay test: one approved run on two hosts, one where a host fails.
 */
export async function recordSshCommandHistories(): Promise<string[]> {
  const ctx = await peerContext();
  const [web1, web2] = await Promise.all([startSshd(), startSshd()]);
  const taskQueue = `record-${crypto.randomUUID()}`;
  const worker = await startTestWorker({}, { taskQueues: [taskQueue] });
  const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  const client = new Client({ connection });
  const written: string[] = [];
  try {
    const record = async (name: string, opts: { requireApproval: boolean; command: string }) => {
      const { runId, teamId } = await createRunWithTeam(ctx.db.em, 'ssh-command');
      const keyring = keyringFromConfig(ctx.config);
      const [i1, i2] = await Promise.all([storeSshIntegration(ctx.db.em, keyring, teamId, web1), storeSshIntegration(ctx.db.em, keyring, teamId, web2)]);
      const input: SshCommandRunInput = {
        runId,
        teamId,
        params: { hosts: [hostOf(web1, 'web1', i1), hostOf(web2, 'web2', i2)], command: opts.command, parallel: 2, requireApproval: opts.requireApproval, timeoutSeconds: 60 },
        approvalTimeoutMs: 60_000,
        heartbeatTimeoutMs: 5_000,
      };
      const handle = await client.workflow.start('sshCommandRun', { taskQueue, workflowId: runId, args: [input] });
      if (opts.requireApproval) {
        while ((await handle.query(stateQuery)).status !== 'awaiting_approval') await new Promise((r) => setTimeout(r, 50));
        await handle.executeUpdate(approveUpdate, { args: [{ userId: 'u1', email: 'recorder@example.test', comment: 'go' }] });
      }
      await handle.result().catch(() => undefined);
      const file = path.join(HISTORIES_DIR, `${name}.json`);
      await writeFile(file, `${JSON.stringify(historyToPlainJson(await handle.fetchHistory()), null, 1)}\n`);
      written.push(file);
    };
    await record('ssh-command-run-approved', { requireApproval: true, command: 'echo hello; uname -s' });
    await record('ssh-command-run-host-failed', { requireApproval: false, command: `case "$SSH_CONNECTION" in *" ${web2.port}") exit 3;; esac; echo fine` });
  } finally {
    await worker.shutdown();
    await connection.close();
    await Promise.all([web1.stop(), web2.stop()]);
    await ctx.close();
  }
  return written;
}
