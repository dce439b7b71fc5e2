import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { NodeSSH } from 'node-ssh';
import type { NewRunEvent } from '../../contracts/events.ts';
import type { SshHost, SshHostResult } from '../../contracts/kinds/ssh-command.ts';
import { NotFoundError } from '../../core/errors.ts';
import { LaunchTakenError, latestLaunch, recordEnding, recordLaunch } from '../../db/repositories/run-processes.ts';
import type { ProcessDeps } from '../process/command.ts';
import { redactor } from '../process/redact.ts';
import { FollowLock } from '../process/follow-lock.ts';
import { connectHost, SshConnectError, type SshLogin } from './connect.ts';
import { follow } from './follow.ts';
import { cleanup, remoteDir } from './remote.ts';
import { resultOf } from './results.ts';

export type SshHostInput = { runId: string; teamId: string; host: SshHost; command: string; timeoutSeconds: number; step: string };

export type SshHostDeps = Omit<ProcessDeps, 'graceMs'> & {
  /** After a timeout's TERM, how long before KILL; after a person's cancel, how long before saying it has not stopped. */
  graceMs: number;
  login: (teamId: string, integrationId: string) => Promise<SshLogin>;
};

/** The run_processes command name of an SSH launch; its step is the workflow's per-host step. */
const COMMAND = 'ssh';

/**
 * Runs the command on one host at most once, whatever happens to workers: the launch is recorded in
 * PostgreSQL before the host is asked to start it, the host starts it only if its launch directory
 * does not exist yet, and every attempt (this one, or a retry on any worker) streams the output from
 * the offset the event store reached. A host that cannot be reached, refuses us, or whose command
 * exits non-zero is a failed host, not an error: the run's other hosts go on.
 */
export async function runOnHost(deps: SshHostDeps, input: SshHostInput, opts: { stop?: boolean } = {}): Promise<SshHostResult> {
  const ctx = Context.current();
  // Beats from the start, not only once following: reading the login and the SSH handshake (an
  // encrypted key's KDF) can outlast a short heartbeat timeout on a loaded worker, and an attempt
  // timed out there is retried into the same wait until its attempts run out.
  const beat = setInterval(() => ctx.heartbeat({ step: input.step, host: input.host.name }), Math.max(100, Math.min(5_000, (ctx.info.heartbeatTimeoutMs ?? 20_000) / 4)));
  try {
    return await runOnHostBeating(deps, input, opts.stop === true);
  } finally {
    clearInterval(beat);
  }
}

/**
 * The run was cancelled while no attempt followed this host's command (between retries, or before a
 * worker took the retry): a command still running there is stopped as a cancel stops it (TERM to its
 * group), followed to its end with its output stored and its ending recorded, so the run does not say
 * `cancelled` while the command goes on. A command that never started is not started now.
 */
export async function stopOnHost(deps: SshHostDeps, input: SshHostInput): Promise<{ running: boolean }> {
  const proc = await latestLaunch(deps.em.fork(), input.runId, input.step, COMMAND);
  if (!proc || proc.outcome) return { running: false };
  await runOnHost(deps, input, { stop: true });
  return { running: true };
}

async function runOnHostBeating(deps: SshHostDeps, input: SshHostInput, stop: boolean): Promise<SshHostResult> {
  const ctx = Context.current();
  const em = () => deps.em.fork();
  const { host } = input;
  const attempt = ctx.info.attempt;
  const note = (level: NewRunEvent['level'], message: string, data: Record<string, unknown> = {}) =>
    deps.events.append(input.runId, [{ type: 'step', level, message: `${host.name}: ${message}`, data: { host: host.name, ...data }, attempt }]);
  const failed = async (error: string, exitCode: number | null = null): Promise<SshHostResult> => {
    await note('error', error, { exitCode });
    return { host: host.name, status: 'failed', exitCode, error };
  };

  let proc = await latestLaunch(em(), input.runId, input.step, COMMAND);
  const decided = proc?.outcome ? resultOf(host.name, proc.outcome, proc.exitCode ?? null) : null;

  let login: SshLogin;
  try {
    login = await deps.login(input.teamId, host.integration);
  } catch (err) {
    if (decided) return decided;
    // Gone, or no longer readable as an ssh login: a person must fix the integration. Anything else
    // (PostgreSQL not answering) is retried.
    if (err instanceof NotFoundError || /no longer matches|does not know/.test((err as Error).message)) {
      return failed(`cannot use integration ${host.integration}: ${(err as Error).message}`);
    }
    throw err;
  }
  let ssh: NodeSSH;
  try {
    ssh = await connectHost(host, login);
  } catch (err) {
    if (decided) return decided;
    if (!(err instanceof SshConnectError)) throw err;
    // Nothing started yet and the host refused or is not there: this host has failed. An unexpected
    // error, or a launch whose command may still run there: the host is asked again (Temporal's
    // retries, after which the workflow counts the host failed with this message).
    if (!proc && !err.transient) return failed(err.message);
    if (!proc) throw ApplicationFailure.retryable(err.message, 'SshUnreachable');
    throw ApplicationFailure.retryable(`${err.message}; its command was started earlier and may still run, trying again`, 'SshUnreachable');
  }

  if (decided) {
    // Decided by an earlier attempt that died before answering, perhaps before it removed the
    // launch's files: only that is left to do.
    await ssh.execCommand(cleanup(proc!.id)).catch(() => undefined);
    ssh.dispose();
    return decided;
  }

  const secrets = [login.secrets.privateKey, login.secrets.passphrase ?? '', ...login.secrets.privateKey.split('\n').filter((l) => l.length >= 16)];
  let lock: FollowLock | undefined;
  try {
    let fresh = false;
    if (!proc) {
      const id = crypto.randomUUID();
      try {
        proc = await recordLaunch(em(), {
          id,
          runId: input.runId,
          step: input.step,
          command: COMMAND,
          launch: 1,
          sideEffects: true,
          hostId: deps.hostId,
          dir: `ssh://${login.settings.user}@${host.address}:${host.port}/~/${remoteDir(id)}`,
        });
        fresh = true;
      } catch (err) {
        if (!(err instanceof LaunchTakenError)) throw err;
        proc = (await latestLaunch(em(), input.runId, input.step, COMMAND))!;
      }
    }
    // Held until the ending is recorded and the launch directory removed: an attempt waiting for it
    // then reads the recorded ending, and never finds the directory (the single-start claim) gone
    // with nothing recorded, which would start the command a second time.
    lock = new FollowLock(deps.databaseUrl, proc.id);
    const ending = await follow({ deps, input, ssh, proc, lock, fresh, redact: redactor(secrets), interrupt: stop });
    if (ending.kind === 'decided') return ending.result;
    if (ending.kind === 'missing') {
      // The host refused to create the launch directory (home not writable), or, stopping, the run was
      // cancelled before the command started: it never ran.
      await recordEnding(em(), proc.id, { outcome: 'superseded', exitCode: null });
      if (stop) return failed('the run was cancelled before the command started there; it did not run');
      return failed(`could not create ~/.opssight on the host (is the home directory of ${login.settings.user} writable?); the command did not run`);
    }
    if (ending.kind === 'interrupted') {
      await recordEnding(em(), proc.id, { outcome: ending.code === null ? 'killed' : 'exited', exitCode: ending.code });
      await ssh.execCommand(cleanup(proc.id)).catch(() => undefined);
      await note('warn', ending.code === null ? 'killed on a force cancel' : `stopped on a cancel (exit code ${ending.code})`, { exitCode: ending.code });
      // Stopping for a cancel that found no attempt: this activity itself was not cancelled.
      if (stop) return { host: host.name, status: 'failed', exitCode: ending.code, error: 'stopped on a cancel' };
      throw new CancelledFailure(`${host.name}: stopped on a cancel`);
    }
    const outcome = ending.kind === 'timedOut' ? 'killed' : ending.kind;
    const code = ending.kind === 'exited' || ending.kind === 'timedOut' ? ending.code : null;
    await recordEnding(em(), proc.id, { outcome, exitCode: code });
    await ssh.execCommand(cleanup(proc.id)).catch(() => undefined);
    if (ending.kind === 'timedOut') return failed(`timed out after ${input.timeoutSeconds}s and was stopped`, code);
    const result = resultOf(host.name, outcome, code);
    await note(result.status === 'succeeded' ? 'info' : 'error', result.error ?? 'exit code 0', { exitCode: code });
    return result;
  } finally {
    await lock?.release();
    ssh.dispose();
  }
}
