import { Context } from '@temporalio/activity';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { NodeSSH } from 'node-ssh';
import type { NewRunEvent } from '../../contracts/events.ts';
import type { SshHostResult } from '../../contracts/kinds/ssh-command.ts';
import type { RunProcess } from '../../db/entities/index.ts';
import { storedOutputOffsets } from '../../db/repositories/run-events.ts';
import { launchById } from '../../db/repositories/run-processes.ts';
import { DetachedError, type FollowLock, takeOver } from '../process/follow-lock.ts';
import type { SshHostDeps, SshHostInput } from './host-run.ts';
import { LineSplitter } from './lines.ts';
import { cleanup, launchAndFollow, parseProbe, probe, signalGroup } from './remote.ts';
import { resultOf } from './results.ts';
import { streamExec } from './stream.ts';

export type Ending = { kind: 'exited'; code: number } | { kind: 'killed' } | { kind: 'lost' } | { kind: 'missing' };

export type FollowEnding =
  | Ending
  | { kind: 'interrupted'; code: number | null }
  | { kind: 'timedOut'; code: number | null }
  /** Recorded by the attempt this one waited behind. */
  | { kind: 'decided'; result: SshHostResult };

/**
 * Streams the launch's output into the event store until it ends; reattaches when the stream breaks but
 * the command runs on. With `interrupt`, the command is stopped as a cancel stops it (its run was
 * cancelled while no attempt followed it), and never started.
 */
export async function follow(args: { deps: SshHostDeps; input: SshHostInput; ssh: NodeSSH; proc: RunProcess; lock: FollowLock; fresh: boolean; redact: (l: string) => string; interrupt?: boolean }): Promise<FollowEnding> {
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
  // Following starts the command when its directory is missing: stopping must not. One that has ended
  // meanwhile is only followed to the end of its output.
  const found = args.interrupt ? parseProbe((await ssh.execCommand(probe(proc.id))).stdout).kind : undefined;
  if (found === 'missing') return { kind: 'missing' };
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
    if (ctx.cancellationSignal.aborted || found === 'running') onAbort();
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
