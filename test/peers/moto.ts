import { spawn } from 'node:child_process';
import { freePort, waitForPort } from './temporal.ts';

const BIN = process.env.MOTO_SERVER_BIN ?? '.tools/venv/bin/moto_server';

/**
 * moto's server mode (PyPI moto[server], installed by scripts/bootstrap.sh): EC2, CloudWatch, Cost
 * Explorer and STS on a loopback port, its state its own (one per test file). `auth: true` makes it
 * check every request's credentials against its IAM, so any key the test did not create is refused.
 */
export async function startMoto(opts: { auth?: boolean } = {}) {
  const port = await freePort();
  const env = { ...process.env, ...(opts.auth ? { INITIAL_NO_AUTH_ACTION_COUNT: '0' } : {}) };
  const child = spawn(BIN, ['-H', '127.0.0.1', '-p', String(port)], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => void (stderr = (stderr + c.toString()).slice(-4000)));
  try {
    await waitForPort(port, 60_000, child);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${stderr}`, { cause: err });
  }
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    /** Queues a Cost Explorer GetCostAndUsage answer (moto's own API: it answers the next new query with it). */
    costAndUsage: async (...results: unknown[]) => {
      const res = await fetch(`${url}/moto-api/static/ce/cost-and-usage-results`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ results }) });
      if (res.status !== 201) throw new Error(`moto answered ${res.status}: ${await res.text()}`);
    },
    stop: () => new Promise<void>((r) => {
      if (child.exitCode !== null) return r();
      child.once('exit', () => r());
      child.kill('SIGTERM');
    }),
  };
}
export type Moto = Awaited<ReturnType<typeof startMoto>>;
