import { spawnReady, stopProcess } from './processes.ts';

const BIN = process.env.MOTO_SERVER_BIN ?? '.tools/venv/bin/moto_server';

/**
 * moto's server mode (PyPI moto[server], installed by scripts/bootstrap.sh): EC2, CloudWatch, Cost
 * Explorer and STS on a loopback port, its state its own (one per test file). `auth: true` makes it
 * check every request's credentials against its IAM, so any key the test did not create is refused.
 */
export async function startMoto(opts: { auth?: boolean } = {}) {
  const env = opts.auth ? { INITIAL_NO_AUTH_ACTION_COUNT: '0' } : {};
  // Port 0, read back from its "Running on" line: Python takes seconds to load moto, and a port picked
  // before that can meanwhile go to another test's server.
  const running = (line: string) => {
    const m = / \* Running on http:\/\/127\.0\.0\.1:(\d+)/.exec(line);
    return m ? Number(m[1]) : undefined;
  };
  const { child, found: port } = await spawnReady(BIN, ['-H', '127.0.0.1', '-p', '0'], env, running);
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    /** Queues a Cost Explorer GetCostAndUsage answer (moto's own API: it answers the next new query with it). */
    costAndUsage: async (...results: unknown[]) => {
      const res = await fetch(`${url}/moto-api/static/ce/cost-and-usage-results`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ results }) });
      if (res.status !== 201) throw new Error(`moto answered ${res.status}: ${await res.text()}`);
    },
    stop: () => stopProcess(child).then(() => undefined),
  };
}
export type Moto = Awaited<ReturnType<typeof startMoto>>;
