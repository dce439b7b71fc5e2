import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../api/app.ts';
import { buildAppDeps } from '../../api/deps.ts';
import { attachWebSocketHub } from '../../api/ws/hub.ts';
import { loadConfig, type Config } from '../../core/config.ts';
import { createLogger } from '../../core/logger.ts';

/**
 * The real API (Koa app + WebSocket hub) listening on a free loopback port, wired to the peers
 * global-setup started. `overrides` replace environment settings for this instance only.
 */
export async function startApi(overrides: Record<string, string> = {}) {
  const config: Config = loadConfig({ ...process.env, API_PORT: '0', ...overrides });
  const logger = createLogger({ level: config.LOG_LEVEL, name: 'api-test' });
  const deps = await buildAppDeps(config, logger);
  const app = createApp(deps);
  const server = http.createServer(app.callback());
  deps.telemetry?.traceServer(server);
  const hub = attachWebSocketHub(server, deps);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  const close = async () => {
    await hub.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await deps.close();
  };
  return { deps, config, baseUrl, wsUrl: `ws://127.0.0.1:${port}/ws`, close };
}
export type TestApi = Awaited<ReturnType<typeof startApi>>;

/**
 * Settings giving a test file Redis keys of its own (under the run's prefix, so teardown still removes
 * them): its failed sign-ins then count against a login budget of its own, not the one other files'
 * APIs share on 127.0.0.1. Only for a file whose runs no shared worker picks up (no runs, or a
 * namespace of its own): a worker writes run events under its own prefix.
 */
export const ownRedisKeys = (name: string) => ({ REDIS_PREFIX: `${process.env.REDIS_PREFIX}${name}:` });
