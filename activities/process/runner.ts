import { watch, type FSWatcher } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import type { NewRunEvent } from '../../contracts/events.ts';
import type { RunProcess } from '../../db/entities/index.ts';
import { storedOutputOffsets } from '../../db/repositories/run-events.ts';
import { LaunchTakenError, latestLaunch, launchById, recordEnding, recordLaunch } from '../../db/repositories/run-processes.ts';
import { DetachedError, FollowLock, takeOver } from './follow-lock.ts';
import { isOurProcess } from './host.ts';
import { launch, launchMarker, recordedExit, recordedPid, signalLaunch } from './launch.ts';
import { redactor } from './redact.ts';
import { signalEach, strays } from './strays.ts';
import { OutputTail, type OutputLine } from './tail.ts';
import { recordedEnding, type CommandSpec, type Ending, type ProcessDeps } from './command.ts';

const READ_BYTES = 256 * 1024;
const POLL_MS = 250;
const TAIL_LINES = 30;
/** A fresh launch's pid file may lag its spawn by a moment; an old launch without one never started. */
const START_WINDOW_MS = 10_000;
/**
 * How long after a cancel's SIGINT processes that left the launch's group are still looked for: one
 * forked as the signal landed shows up within moments, and later scans would cost a /proc walk a poll.
 */
const STRAY_WINDOW_MS = 2_000;

export const ctlDirOf = (stepDir: string, command: string, launchNo: number) => path.join(stepDir, `ctl-${command}-${launchNo}`);

/**
 * Runs external commands so that they outlive the worker: each launch is recorded in PostgreSQL before
 * it starts, its output goes to files that any later attempt on the same host tails from the offset
 * the event store reached, and its exit code is written by a wrapper that survives the worker.
 */
export function createProcessRunner(deps: ProcessDeps) {
  const em = () => deps.em.fork();

  async function latest(spec: Pick<CommandSpec, 'runId' | 'step' | 'command'>): Promise<RunProcess | null> {
    return latestLaunch(em(), spec.runId, spec.step, spec.command);
  }

  /** Records launch number `launchNo` and starts it; LaunchTakenError when another attempt recorded it first. */
  async function start(spec: CommandSpec, launchNo: number): Promise<Ending> {
    const ctlDir = ctlDirOf(spec.stepDir, spec.command, launchNo);
    await mkdir(ctlDir, { recursive: true, mode: 0o700 });
    const proc = await recordLaunch(em(), {
      id: crypto.randomUUID(),
      runId: spec.runId,
      step: spec.step,
      command: spec.command,
      launch: launchNo,
      sideEffects: spec.sideEffects,
      hostId: deps.hostId,
      dir: ctlDir,
    });
    const pid = await launch({ procId: proc.id, ctlDir, cwd: spec.cwd, bin: spec.bin, args: spec.args, env: spec.env, sandbox: spec.sandbox, header: spec.header });
    return follow(proc, spec, { pid, fresh: true });
  }

  /**
   * For commands that can safely run again (init, plan, show): follows a launch of this attempt's step
   * that is still running on this host, or starts a new one.
   */
  async function exec(spec: CommandSpec): Promise<Ending> {
    const last = await latest(spec);
    if (last && !last.outcome && last.hostId === deps.hostId) {
      const ending = await follow(last, spec, { fresh: false });
      if (ending.kind === 'exited' && !ending.interrupted) return ending;
    }
    try {
      return await start(spec, (last?.launch ?? 0) + 1);
    } catch (err) {
      // A concurrent attempt of the same step got there first (a retry racing a slow predecessor).
      if (err instanceof LaunchTakenError) return exec(spec);
      throw err;
    }
  }

  /**
   * Follows an earlier launch recorded on this host until it ends, storing the output it has not stored
   * yet. With `interrupt`, it is stopped as a person's cancel stops it (its run was cancelled while no
   * attempt followed it).
   */
  function attach(proc: RunProcess, spec: CommandSpec, opts: { interrupt?: boolean } = {}): Promise<Ending> {
    if (proc.hostId !== deps.hostId) throw new Error(`launch ${proc.id} ran on ${proc.hostId}, not on ${deps.hostId}`);
    return follow(proc, spec, { fresh: false, interrupt: opts.interrupt });
  }

  async function follow(proc: RunProcess, spec: CommandSpec, opts: { pid?: number; fresh: boolean; interrupt?: boolean }): Promise<Ending> {
    const ctx = Context.current();
    const attempt = ctx.info.attempt;
    const ctlDir = proc.dir;
    const marker = launchMarker(proc.id);
    const since = Date.now();
    const lock = new FollowLock(deps.databaseUrl, proc.id);
    const waited = await takeOver(lock, ctx, { step: spec.step, command: spec.command, launch: proc.launch });
    if (waited) {
      // The attempt that held the launch may have judged it meanwhile, and may have removed its
      // control directory too: what it recorded is the answer, not what the files say now.
      const now = await launchById(em(), proc.id);
      if (now?.outcome) {
        await lock.release();
        return recordedEnding(now);
      }
    }
    // Whoever held the launch before stored up to somewhere: resume from there.
    const offsets = opts.fresh && !waited ? { stdout: 0, stderr: 0 } : await storedOutputOffsets(em(), spec.runId, proc.id);
    const tail = new OutputTail(ctlDir, offsets, redactor(spec.secrets));
    const stderrTail: string[] = [];
    let pid = opts.pid ?? null;
    let interruptedAt: number | undefined;
    const strayed = new Set<number>();
    let strayScan = 0;
    let killed = false;
    let warned = false;
    let detach: string | undefined;
    let wake: (() => void) | undefined;
    const nap = (ms: number) => new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

    const toEvent = (l: OutputLine): NewRunEvent => {
      const described = spec.describeLine?.(l.line, l.stream);
      return {
        // A line may stand for a step of the run (a task's result on a host); it keeps its place in the output all the same.
        type: described?.type ?? 'log',
        level: described?.level ?? (l.stream === 'stderr' ? 'error' : 'info'),
        stream: l.stream,
        message: described?.message ?? l.line,
        // proc and off say which launch and where in its output the line ends: how a later attempt resumes.
        data: { ...described?.data, proc: proc.id, off: l.end },
        attempt,
      };
    };

    let flowing = false;
    const keep = async (lines: OutputLine[]) => {
      for (const l of lines) if (l.stream === 'stderr' && l.line.trim() !== '') stderrTail.push(l.line);
      stderrTail.splice(0, Math.max(0, stderrTail.length - TAIL_LINES));
      if (!(await store(spec.runId, lines.map(toEvent)))) tail.offsets = await resync(spec.runId, proc.id, () => detach);
    };

    const beatEvery = Math.max(100, Math.min(5_000, (ctx.info.heartbeatTimeoutMs ?? 20_000) / 4));
    const beat = setInterval(() => ctx.heartbeat({ step: spec.step, command: spec.command, launch: proc.launch, offsets: tail.offsets }), beatEvery);
    const onAbort = () => {
      const why = ctx.cancellationDetails;
      // Only a person's cancel stops the process; a worker going away leaves it to the next attempt.
      if (why && !why.cancelRequested && !why.reset) {
        detach = why.workerShutdown ? 'worker shutting down' : why.timedOut ? 'attempt timed out' : 'activity no longer current';
      } else if (pid !== null && interruptedAt === undefined) {
        interruptedAt = Date.now();
        // signalLaunch looks for strays now: the loop's next look is a poll later.
        strayScan = interruptedAt;
        // Not awaited: a listener cannot wait, and the signal must not wait for the loop either (it
        // may be blocked storing output while PostgreSQL is away). signalLaunch never rejects.
        void signalLaunch(pid, 'SIGINT', strayed);
      }
      wake?.();
    };
    ctx.cancellationSignal.addEventListener('abort', onAbort);
    let watcher: FSWatcher | undefined;
    try {
      watcher = watch(ctlDir, () => wake?.());
    } catch {
      // Polling alone still works, a little slower.
    }

    try {
      for (;;) {
        // At most once a poll: while output flows the loop turns once per batch.
        if (interruptedAt !== undefined && pid !== null && Date.now() - interruptedAt < STRAY_WINDOW_MS && Date.now() - strayScan >= POLL_MS) {
          strayScan = Date.now();
          signalEach(await strays(pid), 'SIGINT', strayed);
        }
        if (!lock.held) {
          // The lock's connection ended (PostgreSQL restarted): take it again before storing another line.
          if (detach) throw new DetachedError(detach);
          const got = await lock.take().catch(() => undefined);
          if (got === false) throw new DetachedError('another attempt follows this launch now');
          if (got === undefined) {
            // PostgreSQL is not answering: the output files keep every line meanwhile.
            await nap(POLL_MS * 4);
            continue;
          }
          tail.offsets = await resync(spec.runId, proc.id, () => detach);
        }
        // While output flows, read it and nothing else: whether the process lives matters only once
        // its output is drained, and three file reads per batch cost more than the batch.
        if (flowing) {
          const lines = await tail.read(READ_BYTES);
          flowing = lines.length > 0;
          if (flowing) await keep(lines);
          continue;
        }
        pid ??= await recordedPid(ctlDir);
        if (pid !== null && (ctx.cancellationSignal.aborted || opts.interrupt) && interruptedAt === undefined && !detach) onAbort();
        const alive = pid !== null && (await isOurProcess(pid, marker));
        // Read after the liveness check: the wrapper writes the code before it exits, so a wrapper seen
        // gone without a code really died without one.
        const code = await recordedExit(ctlDir);
        const starting = pid === null && opts.fresh && Date.now() - since < START_WINDOW_MS;
        const ended = code !== null || (!alive && !starting);

        const lines = await tail.read(READ_BYTES, ended);
        if (lines.length > 0) {
          flowing = true;
          await keep(lines);
          continue;
        }
        if (ended) {
          const ending: Ending =
            code !== null ? { kind: 'exited', code, interrupted: interruptedAt !== undefined, proc, stderrTail }
            : killed ? { kind: 'killed', proc, stderrTail }
            : { kind: 'lost', proc, stderrTail };
          await recordEnding(em(), proc.id, { outcome: ending.kind, exitCode: code });
          return ending;
        }
        if (detach) throw new DetachedError(detach);
        if (interruptedAt !== undefined && pid !== null) await escalate(pid, Date.now() - interruptedAt);
        await nap(POLL_MS);
      }
    } finally {
      clearInterval(beat);
      ctx.cancellationSignal.removeEventListener('abort', onAbort);
      watcher?.close();
      await tail.close();
      await lock.release();
    }

    /** After a graceful cancel: kill what may be killed, and tell a person when only they may. */
    async function escalate(pidNow: number, elapsedMs: number): Promise<void> {
      if (killed) return;
      if (!spec.sideEffects) {
        if (elapsedMs >= deps.graceMs) killed = await signalLaunch(pidNow, 'SIGKILL');
        return;
      }
      if (await forceRequested(spec.runId)) {
        killed = await signalLaunch(pidNow, 'SIGKILL');
        return;
      }
      if (!warned && elapsedMs >= deps.graceMs) {
        warned = true;
        const message = `${spec.command} has not stopped ${Math.round(elapsedMs / 1000)}s after the cancel; it may be finishing a change. ` +
          'Force cancel kills it, and its state may then not be saved.';
        await store(spec.runId, [{ type: 'step', level: 'warn', message, data: { proc: proc.id, hung: true }, attempt }]);
      }
    }
  }

  /** Appends to the event store; false (after a pause) when it could not, so the caller re-reads what is stored. */
  async function store(runId: string, events: NewRunEvent[]): Promise<boolean> {
    try {
      await deps.events.append(runId, events);
      return true;
    } catch (err) {
      deps.logger.warn({ err }, 'storing process output failed; retrying from the stored offset');
      await new Promise((r) => setTimeout(r, 1_000));
      return false;
    }
  }

  /** The stored offsets, once PostgreSQL answers again; the output files hold everything meanwhile. */
  async function resync(runId: string, procId: string, detached: () => string | undefined) {
    for (let pause = 500; ; pause = Math.min(pause * 2, 5_000)) {
      const why = detached();
      if (why) throw new DetachedError(why);
      try {
        return await storedOutputOffsets(em(), runId, procId);
      } catch (err) {
        deps.logger.warn({ err }, 'reading stored output offsets failed; retrying');
        await new Promise((r) => setTimeout(r, pause));
      }
    }
  }

  async function forceRequested(runId: string): Promise<boolean> {
    try {
      const rows = await em().getConnection().execute<{ force: boolean | null }[]>(
        `select (cancel_request->>'force')::boolean as force from runs where id = ?`,
        [runId],
      );
      return rows[0]?.force === true;
    } catch {
      return false;
    }
  }

  return { latest, start, exec, attach };
}
export type ProcessRunner = ReturnType<typeof createProcessRunner>;
