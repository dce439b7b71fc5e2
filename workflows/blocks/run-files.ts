import { CancellationScope, proxyActivities, workflowInfo } from '@temporalio/workflow';
import { hostTaskQueue } from '../../contracts/temporal.ts';
import { bookkeeping, type RunBookkeepingActivities } from './reporter.ts';

/**
 * Once a run has ended, every host its processes ran on removes what the run left on disk. A host that
 * does not answer in time is skipped: its worker sweeps ended runs when it starts again.
 */
export async function releaseRunFiles(runId: string): Promise<void> {
  await CancellationScope.nonCancellable(async () => {
    const hosts = await bookkeeping.runHosts({ runId }).catch(() => [] as string[]);
    await Promise.all(
      hosts.map((hostId) =>
        proxyActivities<RunBookkeepingActivities>({
          taskQueue: hostTaskQueue(workflowInfo().taskQueue, hostId),
          scheduleToStartTimeout: '30 seconds',
          startToCloseTimeout: '1 minute',
          retry: { maximumAttempts: 3 },
        })
          .releaseRunFiles({ runId })
          .catch(() => undefined),
      ),
    );
  });
}
