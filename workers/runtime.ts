import { Client, Connection, ScheduleAlreadyRunning } from '@temporalio/client';
import { NativeConnection, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createActivities, type ActivityDeps } from '../activities/index.ts';
import { defaultHostId } from '../activities/process/host.ts';
import { sweepEndedRuns } from '../activities/process/index.ts';
import { endedLaunchStopper } from './ended-launches.ts';
import { isolationMode } from '../activities/process/sandbox.ts';
import { prepareStateDatabase } from '../activities/terraform/state-setup.ts';
import { createStateStore } from '../activities/terraform/state.ts';
import { hostTaskQueue } from '../contracts/temporal.ts';
import type { Config } from '../core/config.ts';
import type { Logger } from '../core/logger.ts';
import { createMetrics } from '../core/metrics.ts';
import { createRedis, redisKeys } from '../core/redis.ts';
import { RunEventStore } from '../core/run-events.ts';
import { startTelemetry, temporalClientTracing } from '../core/telemetry.ts';
import { keyringFromConfig } from '../core/secrets/keyring.ts';
import { initOrm } from '../db/orm.ts';
import type { AnsibleRunActivities } from '../workflows/ansible-run.ts';
import type { RunReconcilerActivities } from '../workflows/run-reconciler.ts';
import type { SshCommandRunActivities } from '../workflows/ssh-command-run.ts';
import type { StopEndedLaunchActivities } from '../workflows/stop-ended-launch.ts';
import type { DeployRunActivities } from '../workflows/deploy-run.ts';
import type { TerraformRunActivities } from '../workflows/terraform-run.ts';
import type { CostActionRunActivities } from '../workflows/cost-action-run.ts';
import type { CostScanRunActivities } from '../workflows/cost-scan-run.ts';
import type { PipelineRunActivities } from '../workflows/pipeline-run.ts';
import { serveWorkerMetrics } from './metrics-server.ts';
import { queuesToServe } from './queues.ts';
import { bundleWorkflows, tracedBundlePath } from './bundle.ts';
import { workerTracing } from './tracing.ts';

export { workerTracing } from './tracing.ts';

export { WORKFLOWS_PATH, WORKFLOW_INTERCEPTORS_PATH } from './bundle.ts';
export const RECONCILER_SCHEDULE_ID = 'opssight-run-reconciler';

export type StartWorkerOptions = {
  /**
   * A prebuilt bundle; default WORKFLOW_BUNDLE (its traced sibling when tracing is on), else the
   * workflows are bundled once at start. With tracing on it must include WORKFLOW_INTERCEPTORS_PATH.
   */
  workflowBundle?: WorkflowBundleOption;
  /** The queues to poll (tests use queues of their own); default WORKER_QUEUES, else every kind's queue. */
  taskQueues?: string[];
  identity?: string;
  /** Sweep for rows whose workflow ended silently; false = leave the schedule alone. */
  reconciler?: { everyMs: number; olderThanMs: number } | false;
  shutdownGraceTimeMs?: number;
  /** Environment terraform runs with; defaults to the worker's PATH/HOME/locale and nothing else. */
  processEnv?: Record<string, string>;
};

// Terraform and its local-exec provisioners need a usable shell environment, but must never see the
// worker's secrets (DATABASE_URL, JWT_SECRET...): only these are passed through. HOME, TMPDIR and USER
// are the run's own (its work dir, its sandbox user), set where the process starts.
const PASS_THROUGH = ['PATH', 'LANG', 'LC_ALL', 'TZ'];

const hasCommand = (cmd: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
function defaultProcessEnv(): Record<string, string> {
  return Object.fromEntries(PASS_THROUGH.flatMap((k) => (process.env[k] ? [[k, process.env[k]!]] : [])));
}

async function ensureReconcilerSchedule(client: Client, taskQueue: string, opts: { everyMs: number; olderThanMs: number }, logger: Logger) {
  try {
    await client.schedule.create({
      scheduleId: RECONCILER_SCHEDULE_ID,
      spec: { intervals: [{ every: opts.everyMs }] },
      action: {
        type: 'startWorkflow',
        workflowType: 'runReconciler',
        workflowId: RECONCILER_SCHEDULE_ID,
        taskQueue,
        args: [{ olderThanMs: opts.olderThanMs, limit: 200 }],
      },
      policies: { overlap: 'SKIP', catchupWindow: opts.everyMs },
    });
    logger.info({ scheduleId: RECONCILER_SCHEDULE_ID }, 'created the run reconciler schedule');
  } catch (err) {
    // Every worker tries at start; the first one wins and the schedule then lives in Temporal.
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
}

/**
 * Connects what the worker's queues need and starts polling them: for each queue one Temporal worker
 * with the workflows and activities, and one on the queue of this host alone (activities only), where
 * steps whose processes run here are followed. `done` settles when all have stopped.
 */
export async function startWorker(config: Config, logger: Logger, opts: StartWorkerOptions = {}) {
  const taskQueues = opts.taskQueues ?? queuesToServe(config.WORKER_QUEUES);
  const taskQueue = taskQueues[0]!;
  const closers: Array<() => Promise<unknown> | void> = [];
  const closeAll = async () => {
    for (const close of closers.reverse()) await Promise.resolve(close()).catch((err: unknown) => logger.warn({ err }, 'closing failed'));
  };
  try {
    // First in, so last out: the spans of everything closing after it are still flushed.
    const telemetry = startTelemetry(config, 'opssight-worker', logger);
    if (telemetry) closers.push(() => telemetry.shutdown());
    const db = await initOrm(config.DATABASE_URL);
    closers.push(() => db.close());
    // Connections are lazy: prove each peer answers now, so a bad URL stops start-up instead of failing runs later.
    await db.em.getConnection().execute('select 1').catch((err: Error) => {
      throw new Error(`PostgreSQL (DATABASE_URL) is not reachable: ${err.message}`);
    });
    const redis = createRedis(config.REDIS_URL, 'worker');
    closers.push(() => redis.disconnect());
    await redis.ping().catch((err: Error) => {
      throw new Error(`Redis (REDIS_URL) is not reachable: ${err.message}`);
    });
    const keys = redisKeys(config.REDIS_PREFIX);
    const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS }).catch((err: Error) => {
      throw new Error(`Temporal (TEMPORAL_ADDRESS=${config.TEMPORAL_ADDRESS}) is not reachable: ${err.message}`);
    });
    closers.push(() => connection.close());
    const temporal = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE, ...temporalClientTracing(telemetry) });
    const metrics = createMetrics();
    const metricsServer = config.WORKER_METRICS_PORT === undefined ? undefined : await serveWorkerMetrics(metrics, config.WORKER_METRICS_PORT);
    if (metricsServer) closers.push(() => metricsServer.close());

    const mode = isolationMode({ isRoot: process.getuid?.() === 0, hasSetpriv: hasCommand('setpriv'), allowRootRuns: config.ALLOW_ROOT_RUNS });
    if (mode !== 'sandbox') logger.warn({ mode }, mode === 'root-allowed' ? 'user code runs as root (ALLOW_ROOT_RUNS=true)' : 'user code runs as the worker\'s own user: run the worker as root to give each run a user of its own');
    // Traversable but not listable: each run's sandbox user reaches its own work dir and nothing else.
    mkdirSync(config.WORK_DIR, { recursive: true, mode: 0o711 });
    const hostId = config.WORKER_HOST_ID ?? defaultHostId();
    const state = createStateStore({ adminUrl: config.TERRAFORM_STATE_DATABASE_URL, roleKey: config.STATE_ROLE_KEY, logger });
    closers.push(() => state.close());
    await prepareStateDatabase({ databaseUrl: config.DATABASE_URL, stateUrl: config.TERRAFORM_STATE_DATABASE_URL, store: state, logger }).catch((err: Error) => {
      throw new Error(`Terraform state database (TERRAFORM_STATE_DATABASE_URL): ${err.message}`);
    });
    await sweepEndedRuns({ workRoot: config.WORK_DIR, em: db.em, logger }, endedLaunchStopper(temporal, hostId, logger));
    const deps: ActivityDeps = {
      config,
      em: db.em,
      redis,
      keys,
      events: new RunEventStore({ em: db.em, redis, keys, logger }),
      logger,
      temporal,
      metrics,
      processEnv: opts.processEnv ?? defaultProcessEnv(),
      hostId,
      sandboxed: mode === 'sandbox',
      state,
      keyring: keyringFromConfig(config),
    };
    // The compiler checks here that the activities match what the workflows expect of them.
    const activities = createActivities(deps) satisfies TerraformRunActivities & AnsibleRunActivities & SshCommandRunActivities & DeployRunActivities & RunReconcilerActivities & CostScanRunActivities & CostActionRunActivities & PipelineRunActivities & StopEndedLaunchActivities;

    const nativeConnection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
    closers.push(() => nativeConnection.close());
    const common = {
      connection: nativeConnection,
      namespace: config.TEMPORAL_NAMESPACE,
      ...(opts.identity ? { identity: opts.identity } : {}),
      activities,
      shutdownGraceTime: opts.shutdownGraceTimeMs ?? 10_000,
      ...(config.WORKER_MAX_CACHED_WORKFLOWS === undefined ? {} : { maxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS }),
    };
    // One bundle for every queue: handing Worker.create a workflowsPath would run webpack once per queue.
    const prebuilt = config.WORKFLOW_BUNDLE && (telemetry ? tracedBundlePath(config.WORKFLOW_BUNDLE) : config.WORKFLOW_BUNDLE);
    const workflowBundle = opts.workflowBundle ?? (prebuilt ? { codePath: prebuilt } : await bundleWorkflows(Boolean(telemetry)));
    const workers: Worker[] = [];
    for (const queue of taskQueues) {
      workers.push(await Worker.create({ ...common, taskQueue: queue, workflowBundle, ...workerTracing(telemetry) }));
      // Steps whose process runs on this host are sent here to be followed (activities only, no workflows).
      workers.push(await Worker.create({ ...common, taskQueue: hostTaskQueue(queue, hostId), ...workerTracing(telemetry) }));
    }
    if (opts.reconciler !== false) {
      await ensureReconcilerSchedule(temporal, taskQueue, opts.reconciler ?? { everyMs: 60_000, olderThanMs: 120_000 }, logger);
    }

    const done = Promise.all(workers.map((w) => w.run())).finally(closeAll);
    const shutdown = async () => {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await done;
    };
    logger.info({ taskQueues, hostId, isolation: mode, identity: opts.identity }, 'worker started');
    return { workers, taskQueues, shutdown, done, metricsPort: metricsServer?.port, telemetry };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
export type RunningWorker = Awaited<ReturnType<typeof startWorker>>;
