import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { AnsibleParams } from '../contracts/kinds/ansible.ts';
import type { TerraformParams } from '../contracts/kinds/terraform.ts';
import { hostTaskQueue, planOfApplyStep } from '../contracts/temporal.ts';
import type { AnsibleRunActivities } from './ansible-run.ts';
import type { RunBookkeepingActivities } from './blocks/reporter.ts';
import type { TerraformRunActivities } from './terraform-run.ts';

/** A launch with side effects still running on `hostId` after its run ended; see stopEndedLaunch. */
export type StopEndedLaunchInput = { hostId: string; runId: string; teamId: string; step: string } & (
  | { command: 'apply'; params: TerraformParams }
  | { command: 'ansible-playbook'; params: AnsibleParams }
);

export type StopEndedLaunchActivities = Pick<TerraformRunActivities, 'terraformStopApply'> & Pick<AnsibleRunActivities, 'ansibleStopPlay'> & RunBookkeepingActivities & {
  interruptRunProcesses(input: { runId: string }): Promise<number>;
};

/**
 * Started by a worker that finds, as it starts, a process of an ended run still running on its host (the
 * run was cancelled while that host did not answer). The kind's own stop goes to the host's queue: it
 * interrupts the process as a cancel would, stores the rest of its output in the run's events, says
 * what it left (a Terraform state file it could not save is pushed first), and the run's files on the
 * host go after it. Durable: a worker dying meanwhile leaves it to the next one on the host.
 */
export async function stopEndedLaunch(input: StopEndedLaunchInput): Promise<void> {
  const options = {
    taskQueue: hostTaskQueue(workflowInfo().taskQueue, input.hostId),
    startToCloseTimeout: '4 hours',
    heartbeatTimeout: '1 minute',
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
  } as const;
  const onHost = proxyActivities<StopEndedLaunchActivities>(options);
  const { runId, teamId, step } = input;
  try {
    if (input.command === 'apply') await onHost.terraformStopApply({ runId, teamId, step, params: input.params, planId: planOfApplyStep(step) });
    else await onHost.ansibleStopPlay({ runId, teamId, step, params: input.params });
  } catch {
    // The kind could not follow it (its integration deleted since, say): it is still interrupted, as the
    // sweep would, its output left unstored; the next start of this host's worker removes its files.
    await onHost.interruptRunProcesses({ runId });
    return;
  }
  await onHost.releaseRunFiles({ runId });
}
