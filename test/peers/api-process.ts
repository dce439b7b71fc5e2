import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export type ApiProcess = { baseUrl: string; pid: number; stop: () => Promise<void> };

/**
 * The API in an operating-system process of its own (not a second app in the test's process): for
 * what must hold between processes that share nothing but PostgreSQL and Redis, such as cache
 * invalidation and rate limits. Its environment is the test's with `overrides`.
 */
export function startApiProcess(overrides: Record<string, string> = {}): Promise<ApiProcess> {
  const child = fork(fileURLToPath(new URL('./api-main.ts', import.meta.url)), [], {
    env: { ...process.env, ...overrides },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    // Jest's flags are not for this process.
    execArgv: [],
  });
  return new Promise((resolve, reject) => {
    const early = (code: number | null) => reject(new Error(`API process exited with ${code} before listening`));
    child.once('exit', early);
    child.once('message', (m: { port: number }) => {
      child.off('exit', early);
      const stop = () =>
        new Promise<void>((done) => {
          if (child.exitCode !== null || child.signalCode !== null) return done();
          child.once('exit', () => done());
          child.kill('SIGTERM');
        });
      resolve({ baseUrl: `http://127.0.0.1:${m.port}`, pid: child.pid!, stop });
    });
  });
}
