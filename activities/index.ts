import type { Client } from '@temporalio/client';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Redis } from 'ioredis';
import type { Config } from '../core/config.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import type { RedisKeys } from '../core/redis.ts';
import type { RunEventStore } from '../core/run-events.ts';
import { createHealthActivities } from './health/index.ts';
import { createCostActivities } from './cost/index.ts';
import { createAnsibleActivities } from './ansible/index.ts';
import { createNotifyActivities } from './notify/index.ts';
import { createDeployActivities } from './deploy/index.ts';
import { createPipelineActivities } from './pipeline/index.ts';
import { createProcessActivities } from './process/index.ts';
import { createProcessRunner } from './process/runner.ts';
import { createReconcileActivities } from './reconcile.ts';
import { createRunStateActivities } from './run-state.ts';
import { createScheduleActivities } from './schedules.ts';
import { createSshActivities } from './ssh/index.ts';
import { createTerraformActivities } from './terraform/index.ts';
import type { StateStore } from './terraform/state.ts';
import type { Keyring } from '../core/secrets/keyring.ts';

/** Everything activities reach the outside world through; the worker builds it from config. */
export type ActivityDeps = {
  config: Config;
  em: EntityManager;
  redis: Redis;
  keys: RedisKeys;
  events: RunEventStore;
  logger: Logger;
  temporal: Client;
  metrics?: Metrics;
  /** Environment for child processes (terraform): only what a process needs, never the worker's secrets. */
  processEnv: Record<string, string>;
  /** The host this worker runs on: processes it starts are followed by workers of the same host. */
  hostId: string;
  /** True when user code runs as a per-run sandbox uid (the worker is root). */
  sandboxed: boolean;
  /** The Terraform state database, through the worker's administrative connection. */
  state: StateStore;
  /** Opens the teams' integration secrets (INTEGRATIONS_KEY). */
  keyring: Keyring;
};

export function createActivities(deps: ActivityDeps) {
  const runner = createProcessRunner({ em: deps.em, databaseUrl: deps.config.DATABASE_URL, events: deps.events, logger: deps.logger, hostId: deps.hostId, graceMs: deps.config.CANCEL_GRACE_MS });
  const activities = {
    ...createRunStateActivities(deps),
    ...createProcessActivities({ workRoot: deps.config.WORK_DIR, em: deps.em, logger: deps.logger }),
    ...createTerraformActivities({ ...deps, runner }),
    ...createAnsibleActivities({ ...deps, runner }),
    ...createSshActivities({ ...deps, databaseUrl: deps.config.DATABASE_URL, graceMs: deps.config.CANCEL_GRACE_MS }),
    ...createReconcileActivities(deps),
    ...createScheduleActivities(deps),
    ...createHealthActivities(deps),
    ...createNotifyActivities(deps),
    ...createDeployActivities({ ...deps, databaseUrl: deps.config.DATABASE_URL }),
    ...createCostActivities(deps),
    ...createPipelineActivities({ ...deps, databaseUrl: deps.config.DATABASE_URL }),
  };
  return deps.metrics ? timed(activities, deps.metrics) : activities;
}

/** Wraps every activity so its duration and outcome land in the worker's metrics. */
function timed<T extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: T, metrics: Metrics): T {
  const wrapped = Object.entries(activities).map(([name, fn]) => [
    name,
    async (...args: never[]) => {
      const end = metrics.activityDuration.startTimer({ activity: name });
      try {
        const result = await fn(...args);
        end({ outcome: 'completed' });
        return result;
      } catch (err) {
        end({ outcome: 'failed' });
        throw err;
      }
    },
  ]);
  return Object.fromEntries(wrapped) as T;
}
export type Activities = ReturnType<typeof createActivities>;
export type { RecordRunStateInput } from './run-state.ts';
export type { TerraformApplyInput, TerraformPlanInput } from './terraform/index.ts';
export type { ReconcileInput, ReconcileResult } from './reconcile.ts';
