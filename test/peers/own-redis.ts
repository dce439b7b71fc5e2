import { spawn, type ChildProcess } from 'node:child_process';
import { freePort, waitForPort } from './temporal.ts';

/**
 * A redis-server of the test's own on a free loopback port, nothing on disk, for tests that stop and
 * start Redis: never the machine's. stop() ends it (SIGTERM, awaited); start() runs it again on the same port.
 */
export async function startOwnRedis() {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'], { stdio: 'ignore' });
    await waitForPort(port, 10_000, child);
  };
  const stop = async () => {
    const running = child;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((r) => running.once('exit', r));
    running.kill('SIGTERM');
    await exited;
  };
  await start();
  return { url: `redis://127.0.0.1:${port}/0`, start, stop };
}
export type OwnRedis = Awaited<ReturnType<typeof startOwnRedis>>;
