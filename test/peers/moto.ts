import { spawn } from 'node:child_process';

const BIN = process.env.MOTO_SERVER_BIN ?? '.tools/venv/bin/moto_server';

/**
 * moto's server mode (PyPI moto[server], installed by scripts/bootstrap.sh): EC2, CloudWatch, Cost
 * Explorer and STS on a loopback port, its state its own (one per test file). `auth: true` makes it
 * check every request's credentials against its IAM, so any key the test did not create is refused.
 */
export async function startMoto(opts: { auth?: boolean } = {}) {
  const env = { ...process.env, ...(opts.auth ? { INITIAL_NO_AUTH_ACTION_COUNT: '0' } : {}) };
  // Port 0, read back from its "Running on" line: Python takes seconds to load moto, and a port picked
  // before that can meanwhile go to another test's server.
  const child = spawn(BIN, ['-H', '127.0.0.1', '-p', '0'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`moto did not start within 60 s:\n${stderr}`)), 60_000);
    child.stderr!.on('data', (c: Buffer) => {
      stderr = (stderr + c.toString()).slice(-4000);
      const m = / \* Running on http:\/\/127\.0\.0\.1:(\d+)/.exec(stderr);
      if (!m) return;
      clearTimeout(timer);
      resolve(Number(m[1]));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`moto exited with ${code} before listening:\n${stderr}`));
    });
  });
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
