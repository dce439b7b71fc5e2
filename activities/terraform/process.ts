import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export type Stream = 'stdout' | 'stderr';

export type ProcessOptions = {
  bin: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  /** Aborted when the activity is cancelled (or times out): the process is asked to stop, then killed. */
  signal: AbortSignal;
  graceMs: number;
  heartbeat: () => void;
  heartbeatEveryMs: number;
  /** Each output line as it arrives (already redacted); omitted = keep stdout in memory instead. */
  onLine?: (stream: Stream, line: string) => void;
  /** Strings that must never leave the process runner (connection strings, passwords). */
  secrets: string[];
};

export type ProcessResult = {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Whole stdout, only when no onLine was given. */
  stdout: string;
  stderrTail: string[];
  interrupted: boolean;
};

const TAIL_LINES = 30;

export function redactor(secrets: string[]): (line: string) => string {
  const needles = secrets.filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
  return (line) => needles.reduce((acc, s) => acc.split(s).join('[redacted]'), line);
}

/**
 * Runs one terraform command in its own process group. Cancellation sends SIGINT to the whole group
 * (terraform then stops its operation and releases the state lock), SIGKILL after the grace period.
 * Heartbeats run on a timer because terraform can be silent for long stretches (a slow provisioner),
 * and a heartbeat is the only way a cancellation reaches an activity.
 */
export function runProcess(opts: ProcessOptions): Promise<ProcessResult> {
  const redact = redactor(opts.secrets);
  return new Promise((resolve, reject) => {
    const child = spawn(opts.bin, opts.args, {
      cwd: opts.cwd,
      env: opts.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stdoutChunks: string[] = [];
    const stderrTail: string[] = [];
    let interrupted = false;
    let killTimer: NodeJS.Timeout | undefined;

    const signalGroup = (sig: NodeJS.Signals) => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, sig);
      } catch {
        // The group is already gone.
      }
    };
    const onAbort = () => {
      interrupted = true;
      signalGroup('SIGINT');
      killTimer = setTimeout(() => signalGroup('SIGKILL'), opts.graceMs);
    };

    const pump = (stream: Stream, source: NodeJS.ReadableStream) => {
      const rl = createInterface({ input: source, crlfDelay: Infinity });
      rl.on('line', (raw) => {
        const line = redact(raw);
        if (stream === 'stderr') {
          stderrTail.push(line);
          if (stderrTail.length > TAIL_LINES) stderrTail.shift();
        }
        if (opts.onLine) opts.onLine(stream, line);
        else if (stream === 'stdout') stdoutChunks.push(raw);
      });
    };
    pump('stdout', child.stdout);
    pump('stderr', child.stderr);

    const beat = setInterval(opts.heartbeat, opts.heartbeatEveryMs);
    if (opts.signal.aborted) onAbort();
    else opts.signal.addEventListener('abort', onAbort, { once: true });

    const cleanup = () => {
      clearInterval(beat);
      if (killTimer) clearTimeout(killTimer);
      opts.signal.removeEventListener('abort', onAbort);
    };
    child.once('error', (err) => {
      cleanup();
      reject(err);
    });
    // 'close' (not 'exit'): fires after the output pipes drained, so no line is lost.
    child.once('close', (code, signal) => {
      cleanup();
      // Whatever the group left behind (a provisioner's child) must not outlive the run.
      if (interrupted) signalGroup('SIGKILL');
      resolve({ code, signal, stdout: stdoutChunks.join('\n'), stderrTail, interrupted });
    });
  });
}
