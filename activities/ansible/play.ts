import { ApplicationFailure } from '@temporalio/common';
import type { AnsiblePlayResult } from '../../contracts/kinds/ansible.ts';
import { FAILURE_TYPES } from '../../contracts/temporal.ts';
import { lastTasksByHost, storedRecap } from '../../db/repositories/ansible-output.ts';
import { recordEnding } from '../../db/repositories/run-processes.ts';
import { recordedEnding, type Ending } from '../process/command.ts';
import { closeMasters, controlDirOf } from './connection.ts';
import { outcomeOf } from './outcome.ts';
import { openSession, type AnsibleStepInput, type SessionDeps } from './session.ts';
import { removeDir } from './workdir.ts';

export type PlayInput = AnsibleStepInput & {
  /** Set by the workflow once the host that ran this step's play stopped answering: judge without it. */
  hostGone?: string;
};

const COMMAND = 'ansible-playbook';

function processOnHost(hostId: string) {
  return ApplicationFailure.create({ message: `the play runs (or ran) on host ${hostId}`, type: FAILURE_TYPES.processOnHost, nonRetryable: true, details: [{ hostId }] });
}

/**
 * Runs the play at most once. Its launch is recorded before it starts; every later attempt, on any
 * worker, follows that launch while it runs on this host, or judges it from what the event store holds
 * (its recap) once it ended. A play is never started a second time: tasks are not guaranteed to be
 * idempotent, so a launch that vanished without an exit code is handed to a person with what it had
 * reached on each host.
 */
export async function playOnce(deps: SessionDeps & { hostId: string }, input: PlayInput): Promise<AnsiblePlayResult> {
  const last = await deps.runner.latest({ runId: input.runId, step: input.step, command: COMMAND });
  let ending: Ending;
  let session: Awaited<ReturnType<typeof openSession>> | undefined;
  if (!last) {
    session = await openSession(deps, input);
    // A concurrent attempt that recorded the launch first makes this throw; the retry then follows it.
    ending = await deps.runner.start(session.spec(COMMAND, 'run'), 1);
  } else if (!last.outcome && last.hostId !== deps.hostId) {
    if (input.hostGone !== last.hostId) throw processOnHost(last.hostId);
    await recordEnding(deps.em.fork(), last.id, { outcome: 'lost', exitCode: null });
    ending = { kind: 'lost', proc: last, stderrTail: [] };
  } else if (!last.outcome) {
    session = await openSession(deps, input);
    ending = await deps.runner.attach(last, session.spec(COMMAND, 'run'));
  } else {
    ending = recordedEnding(last);
  }

  // The play has ended (a detaching attempt never gets here): its master connections have no use left.
  await closeMasters(controlDirOf(deps.config.WORK_DIR, input.runId));
  if (ending.kind === 'lost') {
    const reached = await lastTasksByHost(deps.em.fork(), input.runId, ending.proc.id);
    const where = Object.entries(reached).map(([h, t]) => `${h} after "${t}"`).join(', ');
    throw ApplicationFailure.create({
      message:
        `the play was interrupted (its process vanished on host ${ending.proc.hostId}) ${where ? `with results up to: ${where}` : 'before any task reported a result'}. ` +
        'It is not started again on its own, since its tasks may have changed the hosts: check them, then start a new run.',
      type: FAILURE_TYPES.needsAttention,
      nonRetryable: true,
    });
  }
  const result = await outcomeOf('run', ending, {
    commit: session?.commit ?? null,
    ...(session ? { workDir: session.dirs.workDir } : {}),
    recap: (procId) => storedRecap(deps.em.fork(), input.runId, procId),
  });
  if (session) await removeDir(session.dirs.stepDir);
  return result;
}
