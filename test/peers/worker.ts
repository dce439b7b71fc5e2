import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { loadConfig } from '../../core/config.ts';
import { createLogger } from '../../core/logger.ts';
import { bundleWorkflows } from '../../workers/bundle.ts';
import { startWorker, type StartWorkerOptions } from '../../workers/runtime.ts';

let quiet = false;
/** Worker state changes and expected activity failures would drown the test output. */
export function quietTemporalRuntime(): void {
  if (quiet) return;
  quiet = true;
  try {
    Runtime.install({ logger: new DefaultLogger(process.env.TEMPORAL_LOG_LEVEL === 'debug' ? 'DEBUG' : 'ERROR') });
  } catch {
    // Already installed by an earlier worker in this process.
  }
}

let bundle: { code: string } | undefined;

/**
 * The workflow bundle global setup built for the whole run (WORKFLOW_BUNDLE), read once per jest
 * worker; built here once per process when there is none (a benchmark, which has no global setup).
 */
export async function workflowBundle(): Promise<{ code: string }> {
  quietTemporalRuntime();
  bundle ??= process.env.WORKFLOW_BUNDLE ? { code: readFileSync(process.env.WORKFLOW_BUNDLE, 'utf8') } : await bundleWorkflows(false);
  return bundle;
}

/**
 * A real infra worker (real activities: terraform, PostgreSQL, Redis) in the test process, polling the
 * Temporal dev server global-setup started. `overrides` replace environment settings for it alone.
 */
export async function startTestWorker(overrides: Record<string, string> = {}, opts: StartWorkerOptions = {}) {
  const config = loadConfig({
    ...process.env,
    HEARTBEAT_TIMEOUT_SECONDS: '2',
    CANCEL_GRACE_MS: '1000',
    // A host's workers share a work dir; tests in other processes are other hosts.
    WORK_DIR: mkdtempSync(path.join(os.tmpdir(), 'opssight-work-')),
    WORKER_HOST_ID: `test-${crypto.randomUUID().slice(0, 8)}`,
    ...overrides,
  });
  const logger = createLogger({ level: config.LOG_LEVEL, name: 'test-worker' });
  return startWorker(config, logger, { workflowBundle: await workflowBundle(), reconciler: false, shutdownGraceTimeMs: 2_000, ...opts });
}
export type TestWorker = Awaited<ReturnType<typeof startTestWorker>>;
