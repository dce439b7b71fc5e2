import { rm } from 'node:fs/promises';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { EntityManager } from '@mikro-orm/postgresql';
import { FAILURE_TYPES } from '../../contracts/temporal.ts';
import type { RunProcess } from '../../db/entities/index.ts';
import { storedOutput } from '../../db/repositories/run-events.ts';
import { recordEnding } from '../../db/repositories/run-processes.ts';
import { keepUnsavedState } from '../../db/repositories/terraform-states.ts';
import { pushUnsavedStates } from './unsaved.ts';
import type { RunEventStore } from '../../core/run-events.ts';
import { recordedEnding, type Ending } from '../process/command.ts';
import { isStale, isTransient, stalePlan } from './failures.ts';
import { loadPlan, type SavedPlan } from './plans.ts';
import { readSandboxFile, writeSandboxFile } from '../process/sandbox-files.ts';
import { initArgs, LOCK_WAIT, openSession, type Session, type SessionDeps, type TerraformStepInput } from './session.ts';
import type { StateVersion } from './state.ts';
import { removeDir } from '../process/step-dir.ts';
import { ERRORED_STATE, PLAN_FILE } from './workdir.ts';

export type ApplyInput = TerraformStepInput & {
  planId: string;
  /** Set by the workflow once the host that ran this step's apply stopped answering: judge without it. */
  hostGone?: string;
};

export type ApplyDeps = SessionDeps & { em: EntityManager; hostId: string; events: RunEventStore };

const APPLY_ARGS = ['apply', '-input=false', LOCK_WAIT, PLAN_FILE];
/** How long to wait for an interrupted apply's state lock before asking Temporal to try again later. */
const LOCK_DEADLINE_MS = 60_000;
/** Terraform's progress lines for a resource it has begun to change. */
const CHANGE_STARTED = /^(\S+): (Creating|Modifying|Destroying|Provisioning with|Still creating|Still modifying|Still destroying)/;

const needsAttention = (message: string) => ApplicationFailure.create({ message, type: FAILURE_TYPES.needsAttention, nonRetryable: true });
const sameVersion = (a: StateVersion, b: StateVersion) => a?.serial === b?.serial && a?.lineage === b?.lineage;

function processOnHost(hostId: string) {
  return ApplicationFailure.create({
    message: `the apply of this plan runs (or ran) on host ${hostId}`,
    type: FAILURE_TYPES.processOnHost,
    nonRetryable: true,
    details: [{ hostId }],
  });
}

/**
 * Applies a saved plan at most once. A launch of the apply is recorded before it starts; every later
 * attempt, on any worker, first finds out what that launch did — following it while it runs on this
 * host, or asking the state (its lock, serial and lineage) when its host is gone — and only starts
 * the apply again when the state proves the earlier launch changed nothing.
 */
export async function applySavedPlan(deps: ApplyDeps, input: ApplyInput): Promise<{ applied: true }> {
  const plan = await loadPlan(deps.em, input.planId, input.runId);
  const key = { runId: input.runId, step: input.step, command: 'apply' };
  for (;;) {
    const last = await deps.runner.latest(key);
    let session: Session | undefined;
    let ending: Ending;
    if (!last || last.outcome === 'superseded') {
      session = await openSession(deps, input);
      await placePlanFile(session, plan);
      await pushUnsavedStates(deps, session);
      await session.run('init', initArgs(session.state.schema));
      ending = await deps.runner.start(session.spec('apply', APPLY_ARGS, true), (last?.launch ?? 0) + 1);
    } else if (!last.outcome && last.hostId !== deps.hostId) {
      if (input.hostGone !== last.hostId) throw processOnHost(last.hostId);
      ending = { kind: 'lost', proc: last, stderrTail: [] };
      await recordEnding(deps.em.fork(), last.id, { outcome: 'lost', exitCode: null });
    } else if (!last.outcome) {
      session = await openSession(deps, input);
      ending = await deps.runner.attach(last, session.spec('apply', APPLY_ARGS, true));
      // The attempt this one waited behind proved that launch changed nothing and launched again.
      if (ending.proc.outcome === 'superseded') continue;
    } else {
      // Judged before by an attempt that failed afterwards (a database outage): judge again.
      ending = recordedEnding(last);
      if (last.hostId === deps.hostId) session = await openSession(deps, input);
    }

    const verdict = await judge(deps, input, plan, ending, session);
    if (verdict === 'applied') {
      // The saved plans stay until the workflow discards them as the run ends: a retry of this step
      // (its answer lost) loads the plan first, and finding it gone would read as a stale plan.
      if (session) await removeDir(session.dirs.stepDir);
      return { applied: true };
    }
    // The earlier launch provably changed nothing: this attempt may launch the apply once more.
    await recordEnding(deps.em.fork(), ending.proc.id, { outcome: 'superseded', exitCode: ending.kind === 'exited' ? ending.code : null });
    if (verdict === 'retry-later') throw new Error(`terraform apply failed before changing anything; trying again: ${tailText(ending)}`);
  }
}

/**
 * The run was cancelled while no attempt of its apply was running (between retries, or while waiting for
 * the launch's host): a launch still running is interrupted as a cancel would have, and followed until
 * it stops, so the run does not report `cancelled` while terraform changes the workspace. What the state
 * then records is told in the run's events.
 */
export async function stopApply(deps: ApplyDeps, input: ApplyInput): Promise<{ running: boolean }> {
  const last = await deps.runner.latest({ runId: input.runId, step: input.step, command: 'apply' });
  if (!last || last.outcome) return { running: false };
  if (last.hostId !== deps.hostId) {
    if (input.hostGone !== last.hostId) throw processOnHost(last.hostId);
    await noteCancel(deps, last, `the apply launched on host ${last.hostId} could not be stopped: that host does not answer. ` +
      'terraform may still be changing the workspace there (it holds the state lock until it ends); check the state before the next run.');
    return { running: true };
  }
  // Gone once the run has ended (its plans are discarded then): a worker starting on this host found
  // the launch still running after the run had been cancelled without it (stopEndedLaunch).
  const plan = await loadPlan(deps.em, input.planId, input.runId).catch((err: unknown) => {
    if (err instanceof ApplicationFailure && err.type === FAILURE_TYPES.stalePlan) return null;
    throw err;
  });
  const session = await openSession(deps, input);
  const ending = await deps.runner.attach(last, session.spec('apply', APPLY_ARGS, true), { interrupt: true });
  if (!plan) {
    await noteCancel(deps, last, await afterRunEnded(deps, session, ending));
    await removeDir(session.dirs.stepDir);
    return { running: true };
  }
  try {
    // Interrupted, this throws the cancel with what the state records; ended by itself, it says how.
    const verdict = await judge(deps, input, plan, ending, session);
    await noteCancel(deps, last, verdict === 'applied' ? 'the apply had finished before the cancel reached it: the state records its changes' : 'the apply had stopped before the cancel reached it, changing nothing');
  } catch (err) {
    if (!(err instanceof CancelledFailure)) await noteCancel(deps, last, (err as Error).message);
  }
  return { running: true };
}

/**
 * What an apply that outlived its ended run left: anything terraform could not save goes into the
 * state first (its files are removed next), then the run's events say how it ended and what it had begun.
 */
async function afterRunEnded(deps: ApplyDeps, session: Session, ending: Ending): Promise<string> {
  const pushed = await keepErroredState(deps, session, ending.proc);
  await pushUnsavedStates(deps, session);
  const host = ending.proc.hostId;
  if (ending.kind === 'exited' && ending.code === 0 && !ending.interrupted) return `the apply still running on host ${host} after the run ended has finished there: the state records its changes`;
  const started = await changesStarted(deps, ending.proc.run.id, ending.proc.id);
  const how =
    ending.kind !== 'exited' ? 'is gone without an exit code'
    : ending.interrupted ? `was interrupted there and has stopped (exit code ${ending.code})`
    : `had failed there by itself (exit code ${ending.code})`;
  const what = started.length ? `it had begun changing ${started.join(', ')}; the state records what it completed${pushed ? ' (pushed from the state file it could not save)' : ''}: check the rest before the next run` : 'it had not begun changing anything';
  return `the apply still running on host ${host} after the run ended ${how}: ${what}`;
}

type Verdict = 'applied' | 'relaunch' | 'retry-later';

async function judge(deps: ApplyDeps, input: ApplyInput, plan: SavedPlan, ending: Ending, session: Session | undefined): Promise<Verdict> {
  if (ending.kind === 'exited' && ending.code === 0 && !ending.interrupted) return 'applied';
  const state = session?.state ?? (await deps.state.forWorkspace(input.teamId, input.params.workspace));
  if (ending.kind !== 'exited') {
    const ctx = Context.current();
    const free = await deps.state.waitUntilUnlocked(state.schema, Date.now() + LOCK_DEADLINE_MS, () => ctx.heartbeat({ waiting: 'state lock' }));
    // Its host may be gone with its database session still open: PostgreSQL drops it in time.
    if (!free) throw new Error(`the state of ${input.params.workspace} is still locked by the interrupted apply; waiting for it to be released`);
  }
  // Anything terraform could not save goes into the state before anything is decided from it.
  const pushed = session ? await keepErroredState(deps, session, ending.proc) : false;
  if (session) await pushUnsavedStates(deps, session);
  const changed = pushed || !sameVersion(await deps.state.version(state.schema), plan.prior);
  const text = tailText(ending);

  if (ending.kind === 'exited' && ending.interrupted) {
    throw await cancelled(deps, ending, changed ? 'the apply stopped on the cancel; what it had changed is recorded in the state' : 'the apply stopped on the cancel before changing anything');
  }
  if (ending.kind === 'exited') {
    // Terraform refused the plan before changing anything: the state moved on since it was made.
    if (isStale(text)) throw stalePlan();
    if (!isTransient(text)) {
      throw ApplicationFailure.create({ message: `terraform apply failed: ${text.slice(-2000) || `exit ${ending.code}`}`, type: FAILURE_TYPES.terraform, nonRetryable: true });
    }
    if (changed) throw stalePlan('the apply was interrupted by an outage after changing the state: planning again from what it saved');
    // A provider call that timed out may still have made its change: only a launch that began none may go again.
    const started = await changesStarted(deps, input.runId, ending.proc.id);
    if (started.length > 0) throw unrecorded(started, `the apply failed with what reads as an outage (${lastLine(text)})`);
    return 'retry-later';
  }

  // Lost or killed: the process is gone and its lock released, so the state says what it saved.
  const started = await changesStarted(deps, input.runId, ending.proc.id);
  if (ending.kind === 'killed') {
    const detail = changed ? 'the state records what it had finished' : started.length ? `it had started changing ${started.join(', ')}, which the state does not record; check them before the next run` : 'it had not started changing anything';
    throw await cancelled(deps, ending, `the apply was killed on a force cancel: ${detail}`);
  }
  if (changed) throw stalePlan('the apply was interrupted after changing the state: planning again from what it saved');
  if (started.length > 0) throw unrecorded(started, `the apply was interrupted (its process vanished on host ${ending.proc.hostId})`);
  return 'relaunch';
}

/** A launch began changing resources and the state records none of it: launching again could change them twice. */
function unrecorded(started: string[], what: string) {
  return needsAttention(
    `${what} after it had started changing ${started.join(', ')}, and the state records none of it. ` +
      'Those changes may have been made outside the state: check them, import what exists (terraform import) or remove it, then start a new run.',
  );
}

const lastLine = (text: string) => text.split('\n').map((l) => l.replace(/^[│╵╷\s]+/, '').trim()).filter(Boolean).at(-1) ?? 'no message';

/**
 * A cancelled activity's message does not reach the workflow (Temporal reports only that it was
 * cancelled), so what the cancel left behind is told in the run's events.
 */
async function cancelled(deps: ApplyDeps, ending: Ending, message: string): Promise<CancelledFailure> {
  await noteCancel(deps, ending.proc, message);
  return new CancelledFailure(message);
}

const noteCancel = (deps: ApplyDeps, proc: RunProcess, message: string) =>
  deps.events.append(proc.run.id, [{ type: 'step', level: 'warn', message, data: { proc: proc.id, cancelled: true }, attempt: Context.current().info.attempt }]);

const tailText = (ending: Ending) => stripVTControlCharacters(ending.stderrTail.join('\n'));

/** Resource addresses the launch reported starting to change, from the output the event store holds. */
async function changesStarted(deps: ApplyDeps, runId: string, procId: string): Promise<string[]> {
  const lines = await storedOutput(deps.em.fork(), runId, procId);
  const addresses = lines.map((l) => CHANGE_STARTED.exec(stripVTControlCharacters(l.message))?.[1]).filter((a): a is string => Boolean(a));
  return [...new Set(addresses)];
}

/**
 * Writes the approved plan for a new launch, always from PostgreSQL: a file left in the work dir by an
 * earlier attempt is the run's to change, and applying it could apply a plan nobody approved.
 */
async function placePlanFile(session: Session, plan: SavedPlan): Promise<void> {
  await writeSandboxFile(path.join(session.dirs.workDir, PLAN_FILE), plan.bytes, session.sandbox);
}

/** Copies an errored.tfstate the launch left into PostgreSQL (once per launch) and removes the file. */
async function keepErroredState(deps: ApplyDeps, session: Session, proc: RunProcess): Promise<boolean> {
  const file = path.join(session.dirs.workDir, ERRORED_STATE);
  const bytes = await readSandboxFile(file, session.sandbox).catch((err: Error) => {
    throw ApplicationFailure.create({ message: `terraform apply: ${err.message}`, type: FAILURE_TYPES.terraform, nonRetryable: true });
  });
  if (bytes === null) return false;
  const text = bytes.toString('utf8');
  await keepUnsavedState(deps.em.fork(), { runId: proc.run.id, procId: proc.id, schema: session.state.schema, state: text });
  await rm(file, { force: true });
  return true;
}
