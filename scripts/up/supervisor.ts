/**
 * Starts the processes of the local stack, sends their output to one log file each, stops them in
 * reverse start order, and reports the first one that dies on its own. Each child gets its own
 * process group, so a Ctrl-C in the terminal reaches only the supervisor, which then stops the
 * children in order (the API before the worker before Temporal before the databases).
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
};

type Running = { spec: ChildSpec; child: ChildProcess; log: WriteStream; logPath: string; exited: Promise<void> };

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
  private died?: (err: ChildDiedError) => void;
  /** Settles with the first child that exits while the stack is supposed to be running. */
  readonly firstDeath: Promise<ChildDiedError>;

  private readonly logDir: string;
  private readonly pidFile: string;

  constructor(logDir: string, pidFile: string) {
    this.logDir = logDir;
    this.pidFile = pidFile;
    this.firstDeath = new Promise((resolve) => (this.died = resolve));
  }

  /** Starts a child; `onLine` sees each stdout line (readiness markers), everything goes to the log. */
  start(spec: ChildSpec, onLine?: (line: string) => void): ChildProcess {
    if (this.stopping) throw new Error(`not starting ${spec.name}: shutting down`);
    const logPath = path.join(this.logDir, `${spec.name}.log`);
    const log = createWriteStream(logPath, { flags: 'a', mode: 0o640 });
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
    const exited = new Promise<void>((resolve) => {
      child.once('error', (err) => {
        log.write(`failed to start: ${err.message}\n`);
        this.reportDeath(spec.name, `could not be started (${err.message})`, logPath);
        resolve();
      });
      child.once('exit', (code, signal) => {
        log.write(`--- ${new Date().toISOString()} exited (code ${code}, signal ${signal})\n`);
        this.reportDeath(spec.name, `exited unexpectedly (${signal ? `signal ${signal}` : `code ${code}`})`, logPath);
        resolve();
      });
    });
    this.running.push({ spec, child, log, logPath, exited });
    this.writePidFile();
    return child;
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

  /** Stops every child, last started first; SIGKILL for one that outlives its grace period. */
  async stopAll(): Promise<void> {
    this.stopping = true;
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
    for (const r of this.running) this.signal(r, 'SIGKILL', true);
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

  private reportDeath(name: string, detail: string, logPath: string): void {
    if (!this.stopping) this.died?.(new ChildDiedError(name, detail, logPath));
  }

  private writePidFile(): void {
    const tmp = `${this.pidFile}.tmp`;
    writeFileSync(tmp, `${JSON.stringify({ supervisor: process.pid, children: this.pids() }, null, 2)}\n`, { mode: 0o644 });
    renameSync(tmp, this.pidFile);
  }
}
