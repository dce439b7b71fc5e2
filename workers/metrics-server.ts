import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Metrics } from '../core/metrics.ts';

/**
 * Workers have no API: this tiny server is how Prometheus scrapes what only a worker sees
 * (activity durations, run outcomes).
 */
export async function serveWorkerMetrics(metrics: Metrics, port: number, host = '0.0.0.0') {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
