import { expect, it } from '@jest/globals';
import { ApplicationFailure } from '@temporalio/common';
import { ansibleParamsSchema } from '../../contracts/kinds/ansible.ts';
import { terraformParamsSchema } from '../../contracts/kinds/terraform.ts';
import type { StopEndedLaunchActivities, StopEndedLaunchInput } from '../../workflows/stop-ended-launch.ts';
import { useWorkflowWorker } from '../fixtures/workflow-env.ts';

// The workflow a starting worker hands a still-running process of an ended run to, with scripted
// activities; the real path (a worker start, terraform interrupted there) is test/faults/host-loss.test.ts.
const calls = new Map<string, string[]>();
const log = (runId: string, what: string) => void (calls.get(runId) ?? calls.set(runId, []).get(runId)!).push(what);
const failing = new Set<string>();
const activities: StopEndedLaunchActivities = {
  async terraformStopApply(input) {
    log(input.runId, `terraformStopApply ${input.step} ${input.planId}`);
    if (failing.has(input.runId)) throw ApplicationFailure.nonRetryable('integration gone');
    return { running: true };
  },
  async ansibleStopPlay(input) {
    log(input.runId, `ansibleStopPlay ${input.step}`);
    return { running: true };
  },
  async interruptRunProcesses({ runId }) {
    log(runId, 'interruptRunProcesses');
    return 1;
  },
  async releaseRunFiles({ runId }) {
    log(runId, 'releaseRunFiles');
  },
  async runHosts() {
    return [];
  },
  async recordRunState() {},
};
const workflows = useWorkflowWorker('wf-stop-ended', activities, { hosts: ['h1'] });

const run = async (input: Omit<StopEndedLaunchInput, 'hostId' | 'teamId'>) => {
  const full = { hostId: 'h1', teamId: 't1', ...input } as StopEndedLaunchInput;
  await workflows.env.client.workflow.execute('stopEndedLaunch', { taskQueue: workflows.taskQueue, workflowId: `stop-${crypto.randomUUID()}`, args: [full] });
  return calls.get(input.runId);
};

it('stops the launch with its kind\'s stop on its host, then removes the run\'s files there', async () => {
  const tf = { runId: crypto.randomUUID(), step: 'apply-p-1', command: 'apply', params: terraformParamsSchema.parse({ workspace: 'w', files: { 'main.tf': '' } }) } as const;
  expect(await run(tf)).toEqual(['terraformStopApply apply-p-1 p-1', 'releaseRunFiles']);
  const play = { runId: crypto.randomUUID(), step: 'run', command: 'ansible-playbook', params: ansibleParamsSchema.parse({ inventory: { hosts: [{ name: 'web1', address: '127.0.0.1', integration: crypto.randomUUID() }] }, playbook: '- hosts: all\n' }) } as const;
  expect(await run(play)).toEqual(['ansibleStopPlay run', 'releaseRunFiles']);
});

it('interrupts the process when its kind cannot follow it, and leaves its files for the next start', async () => {
  const runId = crypto.randomUUID();
  failing.add(runId);
  expect(await run({ runId, step: 'apply-p-2', command: 'apply', params: terraformParamsSchema.parse({ workspace: 'w', files: { 'main.tf': '' } }) })).toEqual(['terraformStopApply apply-p-2 p-2', 'interruptRunProcesses']);
});
