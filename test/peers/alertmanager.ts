import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { freePort, waitForPort } from './temporal.ts';

const BIN = process.env.ALERTMANAGER_BIN ?? '/usr/bin/prometheus-alertmanager';

/**
 * A real Prometheus Alertmanager (Debian's, installed by scripts/services.sh ensure_alertmanager) on
 * loopback, routing every alert to `webhookUrl` with a bearer token and resolved notifications on,
 * grouped by alertname and instance with short waits so a test sees notifications within seconds.
 */
export async function startAlertmanager(webhookUrl: string, bearer: string) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'opssight-am-'));
  const port = await freePort();
  const config = {
    route: { receiver: 'opssight', group_by: ['alertname', 'instance'], group_wait: '200ms', group_interval: '1s', repeat_interval: '1h' },
    receivers: [{ name: 'opssight', webhook_configs: [{ url: webhookUrl, send_resolved: true, http_config: { authorization: { type: 'Bearer', credentials: bearer } } }] }],
  };
  writeFileSync(path.join(dir, 'alertmanager.yml'), stringify(config));
  const child = spawn(BIN, [`--config.file=${path.join(dir, 'alertmanager.yml')}`, `--storage.path=${dir}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address=', '--log.level=warn'], { stdio: ['ignore', 'ignore', 'inherit'] });
  await waitForPort(port, 30_000, child);
  const base = `http://127.0.0.1:${port}`;
  /** Alertmanager's own API (v2): post alerts as Prometheus would; an `endsAt` in the past resolves them. */
  const post = async (alerts: Array<{ labels: Record<string, string>; annotations?: Record<string, string>; endsAt?: string }>) => {
    const res = await fetch(`${base}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(alerts.map((a) => ({ startsAt: new Date(Date.now() - 1000).toISOString(), ...a }))) });
    if (!res.ok) throw new Error(`Alertmanager answered ${res.status}: ${await res.text()}`);
  };
  return {
    base,
    fire: (labels: Record<string, string>, annotations: Record<string, string> = {}) => post([{ labels, annotations }]),
    resolve: (labels: Record<string, string>) => post([{ labels, endsAt: new Date().toISOString() }]),
    stop: () => new Promise<void>((r) => {
      if (child.exitCode !== null) return r();
      child.once('exit', () => r());
      child.kill('SIGTERM');
    }),
  };
}
