import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { TerraformParams, TerraformPlanResult } from '../../contracts/kinds/terraform.ts';
import type { Config } from '../../core/config.ts';
import type { Logger } from '../../core/logger.ts';
import { RunEventBatcher, type RunEventStore } from '../../core/run-events.ts';
import { commandFailure } from './failures.ts';
import { discardPlans, loadPlan, savePlan } from './plans.ts';
import { runProcess, type ProcessResult } from './process.ts';
import { summarisePlan } from './summary.ts';
import { PLAN_FILE, prepareWorkDir, removeWorkDir } from './workdir.ts';

// One active run per workspace is enforced before terraform starts, so a held lock is almost always a
// process that was just interrupted or killed: PostgreSQL frees its advisory lock moments after the
// session ends. Waiting briefly beats failing the attempt and paying a retry.
const LOCK_WAIT = '-lock-timeout=20s';

export type TerraformDeps = {
  config: Pick<Config, 'TERRAFORM_BIN' | 'TERRAFORM_STATE_DATABASE_URL' | 'WORK_DIR' | 'CANCEL_GRACE_MS' | 'EVENT_FLUSH_MS'>;
  em: EntityManager;
  events: RunEventStore;
  logger: Logger;
  /** Environment terraform runs with: what a process needs (PATH, HOME), never the worker's own secrets. */
  processEnv: Record<string, string>;
};

export type TerraformPlanInput = { runId: string; params: TerraformParams };
export type TerraformApplyInput = { runId: string; params: TerraformParams; planId: string };

function secretsOf(connStr: string): string[] {
  try {
    const url = new URL(connStr);
    return [connStr, decodeURIComponent(url.password)].filter(Boolean);
  } catch {
    return [connStr];
  }
}

/**
 * Terraform's pg backend (lib/pq) requires TLS unless told otherwise, while node-postgres, which the
 * rest of OpsSight uses, does not: a URL that says nothing about sslmode means the same to both.
 */
function stateConnString(url: string): string {
  const u = new URL(url);
  if (!u.searchParams.has('sslmode')) u.searchParams.set('sslmode', 'disable');
  return u.toString();
}

export function createTerraformActivities(deps: TerraformDeps) {
  const { config } = deps;
  const connStr = stateConnString(config.TERRAFORM_STATE_DATABASE_URL);
  const secrets = [...secretsOf(config.TERRAFORM_STATE_DATABASE_URL), ...secretsOf(connStr)];

  /** One activity invocation: a fresh directory, a log batcher, and the commands run in it. */
  async function session<T>(runId: string, params: TerraformParams, tag: string, body: (run: Runner) => Promise<T>): Promise<T> {
    const ctx = Context.current();
    const attempt = ctx.info.attempt;
    const dir = await prepareWorkDir(config.WORK_DIR, runId, `${tag}-${attempt}`, params);
    const batcher = new RunEventBatcher(deps.events, runId, { flushMs: config.EVENT_FLUSH_MS });
    const env = {
      ...deps.processEnv,
      TF_IN_AUTOMATION: '1',
      TF_INPUT: '0',
      CHECKPOINT_DISABLE: '1',
      TF_CLI_CONFIG_FILE: path.join(dir, '.terraformrc'),
      // The pg backend reads its connection string from here: never on a command line, in the plan file or .terraform/.
      PG_CONN_STR: connStr,
    };
    const heartbeatEveryMs = Math.max(100, Math.min(5_000, (ctx.info.heartbeatTimeoutMs ?? 20_000) / 4));

    const exec = async (command: string, args: string[], opts: { capture?: boolean; okCodes?: number[] } = {}) => {
      batcher.push({ type: 'log', level: 'info', message: `$ terraform ${args.join(' ')}`, data: { command }, attempt });
      const result = await runProcess({
        bin: config.TERRAFORM_BIN,
        args,
        cwd: dir,
        env,
        signal: ctx.cancellationSignal,
        graceMs: config.CANCEL_GRACE_MS,
        heartbeat: () => ctx.heartbeat({ command }),
        heartbeatEveryMs,
        secrets,
        onLine: opts.capture
          ? undefined
          : (stream, message) => batcher.push({ type: 'log', level: stream === 'stderr' ? 'error' : 'info', stream, message, attempt }),
      });
      if (result.interrupted) {
        throw new CancelledFailure(`terraform ${command} interrupted: ${String(ctx.cancellationSignal.reason ?? 'cancelled')}`);
      }
      const ok = result.code === 0 || (opts.okCodes ?? []).includes(result.code ?? -1);
      if (!ok) throw commandFailure(command, result);
      return result;
    };
    const run: Runner = Object.assign(exec, { dir });

    try {
      const init = ['init', '-input=false', '-no-color', `-backend-config=schema_name=tf_${params.workspace}`];
      await run('init', init);
      return await body(run);
    } finally {
      // Log lines are part of the run's record: flush them before reporting the outcome.
      await batcher.flush().catch((err: unknown) => deps.logger.warn({ err, runId }, 'storing terraform output failed'));
      await removeWorkDir(dir).catch(() => undefined);
    }
  }

  return {
    async terraformPlan(input: TerraformPlanInput): Promise<TerraformPlanResult> {
      return session(input.runId, input.params, 'plan', async (run) => {
        const plan = await run('plan', ['plan', '-input=false', '-no-color', LOCK_WAIT, '-detailed-exitcode', `-out=${PLAN_FILE}`], { okCodes: [2] });
        const show = await run('show', ['show', '-json', PLAN_FILE], { capture: true });
        const summary = summarisePlan(show.stdout);
        const planId = crypto.randomUUID();
        const bytes = await readFile(path.join(run.dir, PLAN_FILE));
        await savePlan(deps.em, { id: planId, runId: input.runId, workspace: input.params.workspace, plan: bytes, summary });
        // Exit code 2 also covers output-only changes, which count as changes to apply.
        return { hasChanges: plan.code === 2, summary, planId };
      });
    },

    async terraformApply(input: TerraformApplyInput): Promise<{ applied: true }> {
      const bytes = await loadPlan(deps.em, input.planId, input.runId);
      return session(input.runId, input.params, 'apply', async (run) => {
        await writeFile(path.join(run.dir, PLAN_FILE), bytes);
        await run('apply', ['apply', '-input=false', '-no-color', LOCK_WAIT, PLAN_FILE]);
        await discardPlans(deps.em, input.runId);
        return { applied: true as const };
      });
    },

    /** Drops a run's saved plans (they hold variable values) once the run is over. */
    async terraformDiscardPlans(input: { runId: string }): Promise<number> {
      return discardPlans(deps.em, input.runId);
    },
  };
}

type Runner = ((command: string, args: string[], opts?: { capture?: boolean; okCodes?: number[] }) => Promise<ProcessResult>) & {
  dir: string;
};
