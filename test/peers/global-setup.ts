import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildWorkflowBundles } from '../../workers/bundle.ts';
import { migrateUp } from '../../db/orm.ts';
import { createDatabase } from './postgres.ts';
import { startTemporalDevServer } from './temporal.ts';

/**
 * Starts the peers every test file shares: one Temporal dev server and one fresh, migrated database
 * (unique name, so parallel runs and leftovers never collide). Redis keys get a per-run prefix.
 * Values reach the test workers through the environment.
 */
export default async function globalSetup(): Promise<void> {
  const id = `${Date.now().toString(36)}_${process.pid}`;
  const dbName = `opssight_test_${id}`;
  const databaseUrl = await createDatabase(dbName);
  await migrateUp(databaseUrl);
  // Every untraced worker of the run (in-process and spawned `node workers/main.ts`) loads this one bundle.
  const bundleDir = mkdtempSync(path.join(os.tmpdir(), 'opssight-bundle-'));
  const workflowBundle = path.join(bundleDir, 'workflows.js');
  const [temporal] = await Promise.all([startTemporalDevServer(process.env.TEMPORAL_BIN ?? '.tools/bin/temporal'), buildWorkflowBundles(workflowBundle, { plainOnly: true })]);

  Object.assign(process.env, {
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    DATABASE_URL: databaseUrl,
    REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0',
    REDIS_PREFIX: `opssight-test:${id}:`,
    TEMPORAL_ADDRESS: temporal.address,
    JWT_SECRET: `test-only-secret-${id}-${Math.random().toString(36).slice(2)}-padding`,
    // A fresh key per run: there is no built-in fallback key, in tests either.
    INTEGRATIONS_KEY: randomBytes(32).toString('base64'),
    TERRAFORM_BIN: process.env.TERRAFORM_BIN ?? '.tools/bin/terraform',
    TEST_DB_NAME: dbName,
    WORKFLOW_BUNDLE: workflowBundle,
    // Test files share this database but each has a Temporal namespace of its own: one file's sweep
    // would start another's queued escalations in the wrong namespace. Tests of the sweep call it.
    ALERT_ESCALATION_SWEEP_SECONDS: '0',
  });
  (globalThis as Record<string, unknown>).__opssightPeers = { temporal, dbName, bundleDir };
}
