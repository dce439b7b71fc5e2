// The targets of the health-scan bench: TARGET_SERVERS plain HTTP servers on loopback in this one
// process, each answering any path with "ok" after TARGET_DELAY_MS (a service's bounded think time,
// so concurrency matters as it does against real services). Sends `{ port, ports }` to the parent.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const servers = Number(process.env.TARGET_SERVERS ?? 10);
const delayMs = Number(process.env.TARGET_DELAY_MS ?? 10);
const ports: number[] = [];
const listening: http.Server[] = [];
for (let i = 0; i < servers; i++) {
  const server = http.createServer((req, res) => {
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`ok ${req.url}\n`);
    }, delayMs);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  ports.push((server.address() as AddressInfo).port);
  listening.push(server);
}
process.send!({ port: ports[0], ports });
process.once('SIGTERM', () => {
  for (const s of listening) s.closeAllConnections();
  process.exit(0);
});
