import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { AnsiblePlayResult } from '../../contracts/kinds/ansible.ts';
import type { RunEventStore } from '../../core/run-events.ts';
import type { RunProcess } from '../../db/entities/index.ts';
import { FAILURE_TYPES } from '../../contracts/temporal.ts';
import { lastTasksByHost, storedRecap } from '../../db/repositories/ansible-output.ts';
import { recordEnding } from '../../db/repositories/run-processes.ts';
import { recordedEnding, type Ending } from '../process/command.ts';
import { closeMasters, controlDirOf } from './connection.ts';
import { outcomeOf } from './outcome.ts';
import { openSession, type AnsibleStepInput, type SessionDeps } from './session.ts';
import { removeDir } from '../process/step-dir.ts';

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

/**
 * The run was cancelled while no attempt of its play was running (between retries, or while waiting
 * for the launch's host): a play still running is interrupted as a cancel would have, and followed
 * until it stops, so the run does not report `cancelled` while ansible-playbook goes on changing the
 * hosts. Its output is stored as always; where it stopped on each host is told in the run's events.
 */
export async function stopPlay(deps: SessionDeps & { hostId: string; events: RunEventStore }, input: PlayInput): Promise<{ running: boolean }> {
  const last = await deps.runner.latest({ runId: input.runId, step: input.step, command: COMMAND });
  if (!last || last.outcome) return { running: false };
  const note = (proc: RunProcess, message: string) =>
    deps.events.append(proc.run.id, [{ type: 'step', level: 'warn', message, data: { proc: proc.id, cancelled: true }, attempt: Context.current().info.attempt }]);
  if (last.hostId !== deps.hostId) {
    if (input.hostGone !== last.hostId) throw processOnHost(last.hostId);
    await note(last, `the play launched on host ${last.hostId} could not be stopped: that host does not answer. ` +
      'ansible-playbook may still be changing the hosts from there; check them before the next run.');
    return { running: true };
  }
  const session = await openSession(deps, input);
  const ending = await deps.runner.attach(last, session.spec(COMMAND, 'run'), { interrupt: true });
  await closeMasters(controlDirOf(deps.config.WORK_DIR, input.runId));
  const reached = await lastTasksByHost(deps.em.fork(), input.runId, last.id);
  const where = Object.entries(reached).map(([h, t]) => `${h} after "${t}"`).join(', ') || 'no host had reported a task';
  const finished = ending.kind === 'exited' && !ending.interrupted;
  await note(last, finished
    ? `the play had ended before the cancel reached it (exit code ${ending.code}): results up to ${where}`
    : `the play was stopped by the cancel: results up to ${where}. Tasks after those did not run`);
  await removeDir(session.dirs.stepDir);
  return { running: true };
}
