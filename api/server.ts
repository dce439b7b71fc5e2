import http from 'node:http';
import { loadConfig } from '../core/config.ts';
import { createLogger } from '../core/logger.ts';
import { createApp } from './app.ts';
import { buildAppDeps } from './deps.ts';
import { attachWebSocketHub } from './ws/hub.ts';

const config = (() => {
  try {
    return loadConfig();
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
})();
const logger = createLogger({ level: config.LOG_LEVEL, name: 'api' });

try {
  const deps = await buildAppDeps(config, logger);
  const app = createApp(deps);
  const server = http.createServer(app.callback());
  deps.telemetry?.traceServer(server);
  const hub = attachWebSocketHub(server, deps);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.API_PORT, config.API_HOST, resolve);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.API_PORT;
  logger.info({ port }, `API listening on http://${config.API_HOST}:${port}`);

  const shutdown = async (signal: string) => {
    logger.info({ signal }, 'shutting down');
    await hub.close();
    await new Promise((r) => server.close(r));
    await deps.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
} catch (err) {
  logger.fatal({ err }, 'API failed to start');
  process.exit(1);
}
