// Process entry for the infra worker: `node workers/main.ts`.
import { ConfigError, loadConfig } from '../core/config.ts';
import { createLogger } from '../core/logger.ts';
import { startWorker } from './runtime.ts';

let config;
try {
  config = loadConfig();
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : `worker: ${String(err)}`);
  process.exit(1);
}
const logger = createLogger({ level: config.LOG_LEVEL, name: 'worker' });

let running;
try {
  running = await startWorker(config, logger);
} catch (err) {
  logger.fatal({ err }, `worker failed to start: ${(err as Error).message}`);
  console.error(`worker failed to start: ${(err as Error).message}`);
  process.exit(1);
}

const stop = (signal: string) => {
  logger.info({ signal }, 'shutting down: finishing in-flight tasks');
  void running.shutdown();
};
process.once('SIGTERM', () => stop('SIGTERM'));
process.once('SIGINT', () => stop('SIGINT'));

try {
  await running.done;
  logger.info('worker stopped');
  process.exit(0);
} catch (err) {
  logger.fatal({ err }, 'worker stopped with an error');
  process.exit(1);
}
