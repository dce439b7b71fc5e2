import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** `node workers/main.ts` as its own process, exactly as deployed; resolves once it polls. */
export async function spawnWorkerProcess(env: Record<string, string>, timeoutMs = 60_000): Promise<{ child: ChildProcess; output: string[] }> {
  const child = spawn(process.execPath, ['workers/main.ts'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  for (const stream of [child.stdout!, child.stderr!]) createInterface({ input: stream }).on('line', (l) => output.push(l));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start:\n${output.slice(-20).join('\n')}`)), timeoutMs);
    const check = setInterval(() => {
      if (output.some((l) => l.includes('"msg":"worker started"'))) done(resolve);
    }, 20);
    const done = (fn: () => void) => {
      clearTimeout(timer);
      clearInterval(check);
      fn();
    };
    child.once('exit', (code) => done(() => reject(new Error(`worker exited with ${code}:\n${output.slice(-20).join('\n')}`))));
  });
  return { child, output };
}

export async function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.kill(signal);
  return exited;
}
