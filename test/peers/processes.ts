import { readFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/**
 * `command` as its own process; resolves with what `ready` finds in its output (stdout and stderr, one
 * line at a time) and rejects with the output's tail if it exits or times out first. The output keeps
 * being collected for as long as the process runs.
 */
export async function spawnReady<T>(command: string, args: string[], env: Record<string, string | undefined>, ready: (line: string) => T | undefined, timeoutMs = 60_000) {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const found = await new Promise<T>((resolve, reject) => {
    const fail = (why: string) => {
      clearTimeout(timer);
      reject(new Error(`${[command, ...args].join(' ')} ${why}:\n${output.slice(-20).join('\n')}`));
    };
    const timer = setTimeout(() => fail(`did not start within ${timeoutMs} ms`), timeoutMs);
    child.once('exit', (code, signal) => fail(`exited with ${code ?? signal}`));
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        output.push(line);
        const value = ready(line);
        if (value === undefined) return;
        clearTimeout(timer);
        resolve(value);
      });
    }
  });
  return { child, output, found };
}

/** `node workers/main.ts`, exactly as deployed; resolves once it polls. */
export async function spawnWorkerProcess(env: Record<string, string>, timeoutMs = 60_000): Promise<{ child: ChildProcess; output: string[] }> {
  const { child, output } = await spawnReady(process.execPath, ['workers/main.ts'], env, (l) => (l.includes('"msg":"worker started"') ? true : undefined), timeoutMs);
  return { child, output };
}

/**
 * `node api/server.ts` on a port the kernel picks as it binds (API_PORT=0), read back from its
 * "listening" line: a port picked beforehand and bound seconds later, once the API has loaded, can
 * meanwhile go to another test's server, and then the test talks to that one.
 */
export async function spawnApiProcess(env: Record<string, string>, timeoutMs = 60_000): Promise<{ child: ChildProcess; output: string[]; port: number }> {
  const listening = (line: string) => (line.includes('API listening on') ? (JSON.parse(line) as { port: number }).port : undefined);
  const { child, output, found } = await spawnReady(process.execPath, ['api/server.ts'], { ...env, API_PORT: '0' }, listening, timeoutMs);
  return { child, output, port: found };
}

export async function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.kill(signal);
  return exited;
}

/** Whether `pid` runs: a zombie (exited, not yet reaped by init) counts as gone. */
export function processAlive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
