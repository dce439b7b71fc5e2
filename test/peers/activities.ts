import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { createActivities } from '../../activities/index.ts';
import { prepareStateDatabase } from '../../activities/terraform/state-setup.ts';
import { createStateStore } from '../../activities/terraform/state.ts';
import { loadConfig } from '../../core/config.ts';
import { keyringFromConfig } from '../../core/secrets/keyring.ts';
import type { peerContext } from './context.ts';

/**
 * The activities exactly as a worker process builds them (createActivities, the state database
 * prepared, user code in a sandbox uid when the tests run as root), for calling one at a time in a mock
 * activity context. Each call gets its own work dir and host id unless told otherwise: like separate machines.
 */
export async function workerActivities(
  ctx: Awaited<ReturnType<typeof peerContext>>,
  opts: { stateUrl?: string; workDir?: string; hostId?: string; overrides?: Record<string, string> } = {},
) {
  const config = loadConfig({
    ...process.env,
    WORK_DIR: opts.workDir ?? mkdtempSync(path.join(os.tmpdir(), 'opssight-tf-')),
    CANCEL_GRACE_MS: '3000',
    ...(opts.stateUrl ? { TERRAFORM_STATE_DATABASE_URL: opts.stateUrl } : {}),
    ...opts.overrides,
  });
  const state = createStateStore({ adminUrl: config.TERRAFORM_STATE_DATABASE_URL, roleKey: config.STATE_ROLE_KEY, logger: ctx.logger });
  await prepareStateDatabase({ databaseUrl: config.DATABASE_URL, stateUrl: config.TERRAFORM_STATE_DATABASE_URL, store: state, logger: ctx.logger });
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  const activities = createActivities({
    config,
    em: ctx.db.em,
    redis: ctx.redis,
    keys: ctx.keys,
    events: ctx.events,
    logger: ctx.logger,
    temporal: new Client({ connection }),
    processEnv: { PATH: process.env.PATH! },
    hostId: opts.hostId ?? `test-host-${crypto.randomUUID().slice(0, 8)}`,
    sandboxed: process.getuid?.() === 0,
    state,
    keyring: keyringFromConfig(config),
  });
  const close = async () => {
    await state.close();
    await connection.close();
  };
  return { activities, config, state, close };
}
export type WorkerActivities = Awaited<ReturnType<typeof workerActivities>>;
