import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { until } from '../fixtures/until.ts';
import { freePort, waitForPort } from './temporal.ts';

const BIN = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus';

/**
 * A real Prometheus (Debian's, installed by scripts/services.sh ensure_prometheus) on loopback,
 * scraping `target` (a full http:// URL of a /metrics endpoint) every 200 ms, with its TSDB in a temp
 * dir. Resolves once the target has been scraped successfully, so a query sees its samples.
 */
export async function startPrometheus(target: string) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'opssight-prom-'));
  const port = await freePort();
  const t = new URL(target);
  const config = {
    global: { scrape_interval: '200ms', scrape_timeout: '200ms' },
    scrape_configs: [{ job_name: 'app', metrics_path: t.pathname, scheme: t.protocol.slice(0, -1), static_configs: [{ targets: [t.host] }] }],
  };
  writeFileSync(path.join(dir, 'prometheus.yml'), stringify(config));
  const child = spawn(
    BIN,
    [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  await waitForPort(port, 30_000, child);
  const url = `http://127.0.0.1:${port}`;
  await until('Prometheus to scrape its target', async () => {
    const res = await fetch(`${url}/api/v1/query?query=up`).catch(() => null);
    const body = res?.ok ? ((await res.json()) as { data: { result: Array<{ value: [number, string] }> } }) : null;
    return body?.data.result[0]?.value[1] === '1' ? true : undefined;
  }, 30_000, 100);
  return {
    url,
    /** Resolves once `query` returns data: a series the test just created is not in Prometheus before its next scrape. */
    scraped: (query: string) =>
      until(`Prometheus to have data for ${query}`, async () => {
        const res = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query })}`).catch(() => null);
        const body = res?.ok ? ((await res.json()) as { data: { result: unknown[] } }) : null;
        return body && body.data.result.length > 0 ? true : undefined;
      }, 30_000, 50),
    stop: () =>
      new Promise<void>((resolve) => {
        const done = () => (rmSync(dir, { recursive: true, force: true }), resolve());
        if (child.exitCode !== null) return done();
        child.once('exit', done);
        child.kill('SIGTERM');
      }),
  };
}
