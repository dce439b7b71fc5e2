import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { appendFile, open, readFile } from 'node:fs/promises';
import path from 'node:path';
import { dropPrivileges, type Sandbox } from './sandbox.ts';
import { signalEach, strays } from './strays.ts';

/** Files in a launch's control directory (owned by the worker's user, never by the sandbox user). */
export const CTL = { pid: 'pid', exit: 'exit', stdout: 'stdout.log', stderr: 'stderr.log' } as const;

export const launchMarker = (procId: string) => `opssight-proc:${procId}`;

// The wrapper is what outlives the worker: it records its pid, runs the command with its output going to
// files (no pipe into the worker, so a dead worker cannot SIGPIPE it), and records the exit code. It
// traps INT/TERM/HUP only to survive them itself: the command, in the same process group, gets the
// signal and decides how to stop (terraform releases its lock), and the wrapper still writes the code.
const WRAPPER = [
  'ctl="$1"; shift',
  'echo $$ > "$ctl/pid.tmp" && mv "$ctl/pid.tmp" "$ctl/pid"',
  'trap : INT TERM HUP',
  '"$@" </dev/null',
  'code=$?',
  'echo "$code" > "$ctl/exit.tmp" && mv "$ctl/exit.tmp" "$ctl/exit"',
].join('\n');

export type LaunchSpec = {
  procId: string;
  ctlDir: string;
  cwd: string;
  bin: string;
  args: string[];
  env: Record<string, string>;
  sandbox: Sandbox;
  /** Written as the output's first line, so it is streamed (and resumed) like the rest. */
  header: string;
};

/** Starts the command detached (own session and process group); returns the wrapper's pid. */
export async function launch(spec: LaunchSpec): Promise<number> {
  await appendFile(path.join(spec.ctlDir, CTL.stdout), `${spec.header}\n`);
  const out = await open(path.join(spec.ctlDir, CTL.stdout), 'a');
  const err = await open(path.join(spec.ctlDir, CTL.stderr), 'a');
  try {
    const child = spawn('/bin/sh', ['-c', WRAPPER, launchMarker(spec.procId), spec.ctlDir, ...dropPrivileges(spec.sandbox), spec.bin, ...spec.args], {
      cwd: spec.cwd,
      env: spec.env,
      detached: true,
      stdio: ['ignore', out.fd, err.fd],
    });
    child.unref();
    await once(child, 'spawn');
    return child.pid!;
  } finally {
    await out.close();
    await err.close();
  }
}

/** The exit code the wrapper recorded, or null while the command runs (or if it died without one). */
export async function recordedExit(ctlDir: string): Promise<number | null> {
  const text = await readFile(path.join(ctlDir, CTL.exit), 'utf8').catch(() => null);
  if (text === null || text.trim() === '') return null;
  const code = Number(text.trim());
  return Number.isInteger(code) ? code : null;
}

export async function recordedPid(ctlDir: string): Promise<number | null> {
  const text = await readFile(path.join(ctlDir, CTL.pid), 'utf8').catch(() => null);
  const pid = text ? Number(text.trim()) : NaN;
  return Number.isInteger(pid) && pid > 1 ? pid : null;
}

/** Signals the launch's whole process group (the wrapper is its leader); false when it is gone. */
export function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Signals the launch's group and every process below it that left the group; false when the group is
 * gone. The strays are found first: once the signal ends their parent, they are no longer below the
 * wrapper. `sent` collects who was signalled, for later scans to reach only newcomers.
 */
export async function signalLaunch(pid: number, signal: NodeJS.Signals, sent?: Set<number>): Promise<boolean> {
  const below = await strays(pid);
  const group = signalGroup(pid, signal);
  signalEach(below, signal, sent);
  return group;
}
