import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { EndedLaunch } from '../activities/process/index.ts';
import { kindNamed } from '../contracts/kinds/index.ts';
import type { Logger } from '../core/logger.ts';
import type { StopEndedLaunchInput } from '../workflows/stop-ended-launch.ts';

/**
 * The commands whose kind can stop them and say what they left: keyed by stopEndedLaunch's own command
 * type, so the compiler holds the two lists together.
 */
const STOPPABLE: Record<StopEndedLaunchInput['command'], true> = { apply: true, 'ansible-playbook': true };

/**
 * How a starting worker hands a process of an ended run, still running on its host, to the process's
 * kind (sweepEndedRuns): one stopEndedLaunch workflow per launch (its id), on the kind's queue, whose
 * stop runs on this host's queue once this worker polls it. A start that finds the workflow already
 * there (an earlier start of this host) counts as handed. False when Temporal refuses: the sweep
 * then interrupts the process itself, without its output.
 */
export function endedLaunchStopper(temporal: Client, hostId: string, logger: Logger) {
  return async (launch: EndedLaunch): Promise<boolean> => {
    const kind = kindNamed(launch.kind);
    if (!kind || !Object.hasOwn(STOPPABLE, launch.command)) return false;
    const input = { hostId, runId: launch.runId, teamId: launch.teamId, step: launch.step, command: launch.command, params: launch.params } as StopEndedLaunchInput;
    try {
      await temporal.workflow.start('stopEndedLaunch', { taskQueue: kind.taskQueue, workflowId: `stop-launch-${launch.id}`, args: [input] });
      return true;
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return true;
      logger.warn({ err, launch: launch.id }, 'could not hand a process of an ended run to its kind');
      return false;
    }
  };
}
