import { spawn } from 'node:child_process';
import { waitForPort } from './temporal.ts';

/**
 * Starts a peer server process and waits until it listens on 127.0.0.1:`port`; if it never does,
 * the error quotes its stderr. `stop()` ends it (SIGTERM, awaited) and then runs `cleanup`.
 */
export async function startListening(what: string, command: string, args: string[], port: number, cleanup: () => void): Promise<{ stop: () => Promise<void> }> {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (c: Buffer) => (log += c.toString()));
  try {
    await waitForPort(port, 15_000, child);
  } catch (err) {
    child.kill('SIGKILL');
    cleanup();
    throw new Error(`${what} did not start: ${(err as Error).message}\n${log}`, { cause: err });
  }
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    cleanup();
  };
  return { stop };
}
