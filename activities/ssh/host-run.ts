import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { NodeSSH } from 'node-ssh';
import type { NewRunEvent } from '../../contracts/events.ts';
import type { SshHost, SshHostResult } from '../../contracts/kinds/ssh-command.ts';
import { NotFoundError } from '../../core/errors.ts';
import type { RunProcess } from '../../db/entities/index.ts';
import { storedOutputOffsets } from '../../db/repositories/run-events.ts';
import { LaunchTakenError, latestLaunch, launchById, recordEnding, recordLaunch } from '../../db/repositories/run-processes.ts';
import type { ProcessDeps } from '../process/command.ts';
import { redactor } from '../process/redact.ts';
import { DetachedError, FollowLock, takeOver } from '../process/follow-lock.ts';
import { connectHost, SshConnectError, type SshLogin } from './connect.ts';
import { LineSplitter } from './lines.ts';
import { cleanup, launchAndFollow, parseProbe, probe, remoteDir, signalGroup } from './remote.ts';
import { resultOf } from './results.ts';
import { streamExec } from './stream.ts';

export type SshHostInput = { runId: string; teamId: string; host: SshHost; command: string; timeoutSeconds: number; step: string };

export type SshHostDeps = Omit<ProcessDeps, 'graceMs'> & {
  /** After a timeout's TERM, how long before KILL; after a person's cancel, how long before saying it has not stopped. */
  graceMs: number;
  login: (teamId: string, integrationId: string) => Promise<SshLogin>;
};

/** The run_processes command name of an SSH launch; its step is the workflow's per-host step. */
const COMMAND = 'ssh';
type Ending = { kind: 'exited'; code: number } | { kind: 'killed' } | { kind: 'lost' } | { kind: 'missing' };

/**
 * Runs the command on one host at most once, whatever happens to workers: the launch is recorded in
 * PostgreSQL before the host is asked to start it, the host starts it only if its launch directory
 * does not exist yet, and every attempt (this one, or a retry on any worker) streams the output from
 * the offset the event store reached. A host that cannot be reached, refuses us, or whose command
 * exits non-zero is a failed host, not an error: the run's other hosts go on.
 */
export async function runOnHost(deps: SshHostDeps, input: SshHostInput): Promise<SshHostResult> {
  const ctx = Context.current();
  // Beats from the start, not only once following: reading the login and the SSH handshake (an
  // encrypted key's KDF) can outlast a short heartbeat timeout on a loaded worker, and an attempt
  // timed out there is retried into the same wait until its attempts run out.
  const beat = setInterval(() => ctx.heartbeat({ step: input.step, host: input.host.name }), Math.max(100, Math.min(5_000, (ctx.info.heartbeatTimeoutMs ?? 20_000) / 4)));
  try {
    return await runOnHostBeating(deps, input);
  } finally {
    clearInterval(beat);
  }
}

async function runOnHostBeating(deps: SshHostDeps, input: SshHostInput): Promise<SshHostResult> {
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
    const ending = await follow({ deps, input, ssh, proc, lock, fresh, redact: redactor(secrets) });
    if (ending.kind === 'decided') return ending.result;
    if (ending.kind === 'missing') {
      // The host refused to create the launch directory (home not writable); the command never started.
      await recordEnding(em(), proc.id, { outcome: 'superseded', exitCode: null });
      return failed(`could not create ~/.opssight on the host (is the home directory of ${login.settings.user} writable?); the command did not run`);
    }
    if (ending.kind === 'interrupted') {
      await recordEnding(em(), proc.id, { outcome: ending.code === null ? 'killed' : 'exited', exitCode: ending.code });
      await ssh.execCommand(cleanup(proc.id)).catch(() => undefined);
      await note('warn', ending.code === null ? 'killed on a force cancel' : `stopped on a cancel (exit code ${ending.code})`, { exitCode: ending.code });
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

type FollowEnding =
  | Ending
  | { kind: 'interrupted'; code: number | null }
  | { kind: 'timedOut'; code: number | null }
  /** Recorded by the attempt this one waited behind. */
  | { kind: 'decided'; result: SshHostResult };

/** Streams the launch's output into the event store until it ends; reattaches when the stream breaks but the command runs on. */
async function follow(args: { deps: SshHostDeps; input: SshHostInput; ssh: NodeSSH; proc: RunProcess; lock: FollowLock; fresh: boolean; redact: (l: string) => string }): Promise<FollowEnding> {
  const { deps, input, ssh, proc, lock, redact } = args;
  const ctx = Context.current();
  const attempt = ctx.info.attempt;
  const name = input.host.name;
  const waited = await takeOver(lock, ctx, { step: input.step, launch: proc.id });
  if (waited) {
    const now = await launchById(deps.em.fork(), proc.id);
    if (now?.outcome) {
      await ssh.execCommand(cleanup(proc.id)).catch(() => undefined);
      return { kind: 'decided', result: resultOf(name, now.outcome, now.exitCode ?? null) };
    }
  }
  // Whoever held the launch before stored up to somewhere: resume from there.
  const offsets = args.fresh && !waited ? { stdout: 0, stderr: 0 } : await storedOutputOffsets(deps.em.fork(), input.runId, proc.id);

  let pending: NewRunEvent[] = [];
  let storing: Promise<void> = Promise.resolve();
  let detach: string | undefined;
  let interruptedAt: number | undefined;
  let timedOutAt: number | undefined;
  let killed = false;
  let warned = false;

  const queue = (stream: 'stdout' | 'stderr', lines: { line: string; end: number }[]) => {
    for (const l of lines) {
      pending.push({
        type: 'log',
        level: stream === 'stderr' ? 'error' : 'info',
        stream,
        message: redact(l.line),
        // host names the line's source; proc and off say where in which launch's output it ends (how a later attempt resumes).
        data: { host: name, proc: proc.id, off: l.end },
        attempt,
      });
    }
    storing = storing.then(flush);
  };
  // Group commit: whatever arrived while the previous append ran goes in the next one. A failed append
  // keeps its lines and tries again: they are not acknowledged to anyone until stored.
  async function flush(): Promise<void> {
    for (let pause = 500; pending.length > 0; pause = Math.min(pause * 2, 5_000)) {
      const batch = pending;
      pending = [];
      try {
        if (!(await lock.take())) {
          // The lock's connection had ended (PostgreSQL restarted) and another attempt follows now.
          detach ??= 'another attempt follows this launch now';
          ssh.dispose();
          throw new DetachedError(detach);
        }
        await deps.events.append(input.runId, batch);
      } catch (err) {
        pending = [...batch, ...pending];
        if (detach) throw new DetachedError(detach);
        deps.logger.warn({ err }, 'storing ssh output failed; retrying');
        await new Promise((r) => setTimeout(r, pause));
      }
    }
  }

  const send = (signal: 'TERM' | 'KILL') => ssh.execCommand(signalGroup(proc.id, signal)).catch((err: Error) => deps.logger.warn({ err, host: name }, 'signalling the remote command failed'));
  const onAbort = () => {
    const why = ctx.cancellationDetails;
    if (why && !why.cancelRequested && !why.reset) {
      // The command keeps running on the host; the next attempt picks up its output.
      detach = why.workerShutdown ? 'worker shutting down' : why.timedOut ? 'attempt timed out' : 'activity no longer current';
      ssh.dispose();
    } else if (interruptedAt === undefined) {
      interruptedAt = Date.now();
      void send('TERM');
    }
  };
  ctx.cancellationSignal.addEventListener('abort', onAbort);
  const deadline = proc.startedAt.getTime() + input.timeoutSeconds * 1000;
  const beatEvery = Math.max(100, Math.min(5_000, (ctx.info.heartbeatTimeoutMs ?? 20_000) / 4));
  // runOnHost beats for the whole attempt; this only watches the command's deadline.
  const watch = setInterval(() => void watchdog().catch((err: unknown) => deps.logger.warn({ err }, 'ssh watchdog failed')), beatEvery);
  async function watchdog() {
    const now = Date.now();
    if (timedOutAt === undefined && interruptedAt === undefined && now > deadline) {
      timedOutAt = now;
      await send('TERM');
    }
    if (killed) return;
    // A timeout is the params' own decision: the command is killed after the grace.
    if (timedOutAt !== undefined && now - timedOutAt >= deps.graceMs) {
      killed = true;
      await send('KILL');
    }
    if (interruptedAt !== undefined) {
      if (await forceRequested(deps.em, input.runId)) {
        killed = true;
        await send('KILL');
      } else if (!warned && now - interruptedAt >= deps.graceMs) {
        warned = true;
        pending.push({ type: 'step', level: 'warn', message: `${name}: the command has not stopped ${Math.round((now - interruptedAt) / 1000)}s after the cancel. Force cancel kills it.`, data: { host: name, proc: proc.id, hung: true }, attempt });
        storing = storing.then(flush);
      }
    }
  }

  try {
    if (ctx.cancellationSignal.aborted) onAbort();
    for (;;) {
      const split = { stdout: new LineSplitter(offsets.stdout), stderr: new LineSplitter(offsets.stderr) };
      const res = await streamExec(ssh, launchAndFollow(proc.id, input.command, offsets), {
        stdout: (chunk) => queue('stdout', split.stdout.push(chunk)),
        stderr: (chunk) => queue('stderr', split.stderr.push(chunk)),
      }).catch((err: Error) => {
        if (detach) return null;
        throw err;
      });
      if (detach || res === null) {
        await storing.catch(() => undefined);
        throw new DetachedError(detach ?? 'connection lost');
      }
      let ending: Ending | undefined;
      if (res.code !== null && res.code !== 137 && !res.signal) ending = { kind: 'exited', code: res.code };
      else {
        const found = parseProbe((await ssh.execCommand(probe(proc.id))).stdout);
        if (found.kind === 'exited') ending = found;
        else if (found.kind === 'lost') ending = killed ? { kind: 'killed' } : { kind: 'lost' };
        else if (found.kind === 'missing') ending = { kind: 'missing' };
      }
      if (!ending) {
        // Still running: the stream broke (tail was killed). Resume from the lines seen so far.
        await storing;
        Object.assign(offsets, { stdout: split.stdout.offset, stderr: split.stderr.offset });
        continue;
      }
      queue('stdout', split.stdout.end());
      queue('stderr', split.stderr.end());
      await storing;
      const code = ending.kind === 'exited' ? ending.code : null;
      if (interruptedAt !== undefined && ending.kind !== 'missing') return { kind: 'interrupted', code };
      if (timedOutAt !== undefined && ending.kind !== 'missing') return { kind: 'timedOut', code };
      return ending;
    }
  } finally {
    clearInterval(watch);
    ctx.cancellationSignal.removeEventListener('abort', onAbort);
  }
}

async function forceRequested(em: EntityManager, runId: string): Promise<boolean> {
  const rows = await em.fork().getConnection().execute<{ force: boolean | null }[]>(
    `select (cancel_request->>'force')::boolean as force from runs where id = ?`,
    [runId],
  ).catch(() => []);
  return rows[0]?.force === true;
}
