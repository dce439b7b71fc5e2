import type { EntityManager } from '@mikro-orm/postgresql';
import type { NewRunEvent } from '../../contracts/events.ts';
import type { Logger } from '../../core/logger.ts';
import type { RunEventStore } from '../../core/run-events.ts';
import type { RunProcess } from '../../db/entities/index.ts';
import type { Sandbox } from './sandbox.ts';

// What the process runner (runner.ts) is given and what it answers: the contract the kinds' sessions
// (terraform, ansible) build commands against.

export type ProcessDeps = {
  em: EntityManager;
  /** For the lock that lets one attempt at a time follow a launch (a connection of its own per follower). */
  databaseUrl: string;
  events: RunEventStore;
  logger: Logger;
  hostId: string;
  /** Grace between SIGINT and SIGKILL for commands without side effects. */
  graceMs: number;
};

export type CommandSpec = {
  runId: string;
  /** The workflow's unit of work, the same for every attempt of an activity (e.g. `apply-<planId>`). */
  step: string;
  command: string;
  /**
   * A command that changes the world is never killed without a person asking (force cancel), and a
   * launch of it that vanished is judged by the caller instead of being started again.
   */
  sideEffects: boolean;
  bin: string;
  args: string[];
  env: Record<string, string>;
  /** The tool's working directory (owned by the sandbox user). */
  cwd: string;
  /** Where control directories of this step's launches go (owned by the worker). */
  stepDir: string;
  sandbox: Sandbox;
  header: string;
  /** Strings that never leave the runner: redacted from every line before it is stored. */
  secrets: string[];
  /**
   * Reads structure out of a line (which host it came from, which task): the event's message and
   * extra data. Default: the line as it is.
   */
  describeLine?: (line: string, stream: 'stdout' | 'stderr') => { message: string; level?: NewRunEvent['level']; data?: Record<string, unknown>; type?: 'log' | 'step' };
};

export type Ending =
  | { kind: 'exited'; code: number; interrupted: boolean; proc: RunProcess; stderrTail: string[] }
  /** Gone without an exit code: its process group was killed, or the machine rebooted. */
  | { kind: 'lost'; proc: RunProcess; stderrTail: string[] }
  /** Killed on a person's force cancel. */
  | { kind: 'killed'; proc: RunProcess; stderrTail: string[] };

/** What an ending recorded in run_processes stands for, when a later attempt finds it already decided. */
export function recordedEnding(row: RunProcess): Ending {
  if (row.outcome === 'exited' && row.exitCode !== null && row.exitCode !== undefined) return { kind: 'exited', code: row.exitCode, interrupted: false, proc: row, stderrTail: [] };
  return { kind: row.outcome === 'killed' ? 'killed' : 'lost', proc: row, stderrTail: [] };
}
