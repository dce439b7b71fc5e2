/**
 * Starts the processes of the local stack, sends their output to one log file each, and stops them
 * in reverse start order. Each child gets its own process group, so a Ctrl-C in the terminal reaches
 * only the supervisor, which then stops the children in order (the API before the workers before
 * Temporal before the databases).
 *
 * Like a process manager: once the stack is up (`serving()`), a child that dies is started again
 * after a backoff (1 s doubling to 30 s, reset after a minute of running), each restart logged and
 * counted in the pid file. A child marked `critical` (the databases, Temporal) that keeps dying
 * (MAX_CRITICAL_RESTARTS in a row without a minute of running) cannot be brought back: that is
 * `fatal`, and up.sh stops. Before the stack is up, any death is fatal: a start-up failure is
 * reported at once instead of retried.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, renameSync, rmSync, writeFileSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';

export type ChildSpec = {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Signal that stops the process gracefully (default SIGTERM). */
  stopSignal?: NodeJS.Signals;
  /** Send the stop signal to the whole process group (default) or only to the process. */
  signalGroup?: boolean;
  /** How long a graceful stop may take before SIGKILL (default 20 s). */
  stopTimeoutMs?: number;
  /** The stack cannot run without it: if restarting it keeps failing, up.sh stops. */
  critical?: boolean;
};

type Running = {
  spec: ChildSpec;
  child: ChildProcess;
  log: WriteStream;
  logPath: string;
  exited: Promise<void>;
  onLine: ((line: string) => void) | undefined;
  startedAt: number;
  restarts: number;
  /** Restarts since the child last ran for STABLE_MS. */
  streak: number;
  timer?: ReturnType<typeof setTimeout>;
};

const STABLE_MS = 60_000;
const MAX_BACKOFF_MS = 30_000;
const MAX_CRITICAL_RESTARTS = 5;

export class ChildDiedError extends Error {
  readonly child: string;
  readonly logPath: string;
  constructor(child: string, detail: string, logPath: string) {
    super(`${child} ${detail}; see ${logPath}`);
    this.name = 'ChildDiedError';
    this.child = child;
    this.logPath = logPath;
  }
}

export class Supervisor {
  private readonly running: Running[] = [];
  private stopping = false;
  private up = false;
  private died?: (err: ChildDiedError) => void;
  /** Settles with the death that stops the stack: any before `serving()`, a critical child's that cannot be undone after. */
  readonly fatal: Promise<ChildDiedError>;

  private readonly logDir: string;
  private readonly pidFile: string;
  private readonly say: (line: string) => void;

  constructor(logDir: string, pidFile: string, say: (line: string) => void = () => {}) {
    this.logDir = logDir;
    this.pidFile = pidFile;
    this.say = say;
    this.fatal = new Promise((resolve) => (this.died = resolve));
  }

  /** The stack is up: from now on a child that dies is restarted. */
  serving(): void {
    this.up = true;
  }

  /** Starts a child; `onLine` sees each stdout line (readiness markers), everything goes to the log. */
  start(spec: ChildSpec, onLine?: (line: string) => void): ChildProcess {
    if (this.stopping) throw new Error(`not starting ${spec.name}: shutting down`);
    const logPath = path.join(this.logDir, `${spec.name}.log`);
    const log = createWriteStream(logPath, { flags: 'a', mode: 0o640 });
    const r = { spec, log, logPath, onLine, restarts: 0, streak: 0 } as Running;
    this.spawnInto(r);
    this.running.push(r);
    this.writePidFile();
    return r.child;
  }

  private spawnInto(r: Running): void {
    const { spec, log, onLine } = r;
    log.write(`\n--- ${new Date().toISOString()} starting ${spec.command} ${spec.args.join(' ')}\n`);
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // own process group: the terminal's SIGINT is ours to forward, in order
    });
    child.stderr!.pipe(log, { end: false });
    if (onLine) {
      const lines = readline.createInterface({ input: child.stdout! });
      lines.on('line', (line) => {
        log.write(`${line}\n`);
        onLine(line);
      });
    } else {
      child.stdout!.pipe(log, { end: false });
    }
    r.child = child;
    r.startedAt = Date.now();
    r.exited = new Promise<void>((resolve) => {
      child.once('error', (err) => {
        log.write(`failed to start: ${err.message}\n`);
        this.onDeath(r, `could not be started (${err.message})`);
        resolve();
      });
      child.once('exit', (code, signal) => {
        log.write(`--- ${new Date().toISOString()} exited (code ${code}, signal ${signal})\n`);
        this.onDeath(r, `exited unexpectedly (${signal ? `signal ${signal}` : `code ${code}`})`);
        resolve();
      });
    });
  }

  /** Restart with backoff, or report the death as fatal (see the class comment). */
  private onDeath(r: Running, detail: string): void {
    if (this.stopping) return;
    const { name } = r.spec;
    if (!this.up) {
      this.died?.(new ChildDiedError(name, detail, r.logPath));
      return;
    }
    if (Date.now() - r.startedAt >= STABLE_MS) r.streak = 0;
    if (r.spec.critical && r.streak >= MAX_CRITICAL_RESTARTS) {
      this.died?.(new ChildDiedError(name, `${detail}; gave up after ${r.streak} restarts in a row`, r.logPath));
      return;
    }
    // What the child left in its group (the server a helper started) would hold its port and files.
    this.signal(r, 'SIGKILL', true);
    const delay = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** r.streak);
    r.streak++;
    r.restarts++;
    const line = `${name} ${detail}; restart #${r.restarts} in ${delay / 1000} s`;
    r.log.write(`--- ${line}\n`);
    this.say(`up: ${line} (log ${r.logPath})`);
    r.timer = setTimeout(() => {
      if (this.stopping) return;
      this.spawnInto(r);
      this.writePidFile();
      this.say(`up: ${name} restarted (pid ${r.child.pid})`);
    }, delay);
  }

  /** Runs a command to completion (migrations): output to its log, rejects on a non-zero exit. */
  async run(spec: ChildSpec): Promise<string> {
    const logPath = path.join(this.logDir, `${spec.name}.log`);
    const log = createWriteStream(logPath, { flags: 'a', mode: 0o640 });
    const child = spawn(spec.command, spec.args, { cwd: spec.cwd, env: spec.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      log.write(chunk);
    });
    child.stderr!.pipe(log, { end: false });
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', resolve);
    });
    await new Promise((r) => log.end(r));
    if (code !== 0) {
      const tail = readFileSync(logPath, 'utf8').trimEnd().split('\n').slice(-15).join('\n');
      throw new ChildDiedError(spec.name, `failed (code ${code}):\n${tail}\n`, logPath);
    }
    return stdout;
  }

  pids(): Record<string, number> {
    return Object.fromEntries(this.running.filter((r) => r.child.pid).map((r) => [r.spec.name, r.child.pid!]));
  }

  restarts(): Record<string, number> {
    return Object.fromEntries(this.running.map((r) => [r.spec.name, r.restarts]));
  }

  /** Stops every child, last started first; SIGKILL for one that outlives its grace period. */
  async stopAll(): Promise<void> {
    this.stopping = true;
    for (const r of this.running) clearTimeout(r.timer);
    for (const r of [...this.running].reverse()) {
      if (r.child.exitCode === null && r.child.signalCode === null && r.child.pid) {
        const grace = r.spec.stopTimeoutMs ?? 20_000;
        this.signal(r, r.spec.stopSignal ?? 'SIGTERM', r.spec.signalGroup ?? true);
        const timer = setTimeout(() => {
          r.log.write(`--- did not stop within ${grace} ms: SIGKILL\n`);
          this.signal(r, 'SIGKILL', true);
        }, grace);
        await r.exited;
        clearTimeout(timer);
      }
      // Whatever the child left behind in its group (a server's own children) goes with it.
      this.signal(r, 'SIGKILL', true);
      await new Promise((resolve) => r.log.end(resolve));
    }
    rmSync(this.pidFile, { force: true });
  }

  /** Immediate SIGKILL of everything (a second Ctrl-C). */
  killAll(): void {
    this.stopping = true;
    for (const r of this.running) {
      clearTimeout(r.timer);
      this.signal(r, 'SIGKILL', true);
    }
    rmSync(this.pidFile, { force: true });
  }

  private signal(r: Running, signal: NodeJS.Signals, group: boolean): void {
    if (!r.child.pid) return;
    try {
      process.kill(group ? -r.child.pid : r.child.pid, signal);
    } catch {
      // already gone
    }
  }

  private writePidFile(): void {
    const tmp = `${this.pidFile}.tmp`;
    writeFileSync(tmp, `${JSON.stringify({ supervisor: process.pid, children: this.pids(), restarts: this.restarts() }, null, 2)}\n`, { mode: 0o644 });
    renameSync(tmp, this.pidFile);
  }
}
