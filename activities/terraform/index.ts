import path from 'node:path';
import { Context } from '@temporalio/activity';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { TerraformPlanResult } from '../../contracts/kinds/terraform.ts';
import type { Config } from '../../core/config.ts';
import type { RunEventStore } from '../../core/run-events.ts';
import { runCaptured } from '../process/captured.ts';
import type { ProcessRunner } from '../process/runner.ts';
import { applySavedPlan, stopApply, type ApplyInput } from './apply.ts';
import { pushUnsavedStates } from './unsaved.ts';
import { commandFailure } from './failures.ts';
import { discardPlans, savePlan } from './plans.ts';
import { readSandboxFile } from '../process/sandbox-files.ts';
import { loadIntegrationSecret } from '../../core/integrations/store.ts';
import type { Keyring } from '../../core/secrets/keyring.ts';
import { findTeamSettings } from '../../db/repositories/teams.ts';
import { NO_POLICY } from './policy.ts';
import { initArgs, LOCK_WAIT, openSession, type TerraformStepInput } from './session.ts';
import type { StateStore } from './state.ts';
import { summarisePlan } from './summary.ts';
import { removeDir } from '../process/step-dir.ts';
import { PLAN_FILE } from './workdir.ts';

export type TerraformDeps = {
  config: Pick<Config, 'TERRAFORM_BIN' | 'WORK_DIR'>;
  em: EntityManager;
  runner: ProcessRunner;
  state: StateStore;
  events: RunEventStore;
  keyring: Keyring;
  hostId: string;
  sandboxed: boolean;
  /** Environment terraform runs with: what a process needs (PATH, locale), never the worker's own secrets. */
  processEnv: Record<string, string>;
};

export type TerraformPlanInput = TerraformStepInput;
export type TerraformApplyInput = ApplyInput;

export function createTerraformActivities(base: TerraformDeps) {
  // Read when each step starts: a policy a team admin tightens applies to the next step of any run.
  const policyFor = async (teamId: string) => (await findTeamSettings(base.em.fork(), teamId))?.terraform ?? NO_POLICY;
  const gitCredentials = async (teamId: string, integrationId: string) => {
    const loaded = await loadIntegrationSecret(base.em.fork(), base.keyring, { teamId, integrationId, type: 'git' });
    return { settings: loaded.settings, secrets: loaded.secrets };
  };
  const deps = { ...base, policyFor, gitCredentials };
  return {
    /** init + plan in the step's work dir; the saved plan and the state it was made against go to PostgreSQL. */
    async terraformPlan(input: TerraformPlanInput): Promise<TerraformPlanResult> {
      const session = await openSession(deps, input);
      await session.run('init', initArgs(session.state.schema));
      await pushUnsavedStates(deps, session);
      const prior = await deps.state.version(session.state.schema);
      const code = await session.run('plan', ['plan', '-input=false', LOCK_WAIT, '-detailed-exitcode', `-out=${PLAN_FILE}`], [0, 2]);
      const show = await runCaptured({
        bin: deps.config.TERRAFORM_BIN,
        args: ['show', '-json', '-no-color', PLAN_FILE],
        cwd: session.dirs.workDir,
        env: session.env,
        sandbox: session.sandbox,
        signal: Context.current().cancellationSignal,
      });
      if (show.code !== 0) throw commandFailure('show', { code: show.code, stderrTail: show.stderr.split('\n').slice(-30) });
      const summary = { ...summarisePlan(show.stdout), ...(session.commit ? { commit: session.commit } : {}) };
      const planId = crypto.randomUUID();
      const bytes = await readSandboxFile(path.join(session.dirs.workDir, PLAN_FILE), session.sandbox);
      if (!bytes) throw new Error(`terraform plan left no ${PLAN_FILE}`);
      await savePlan(deps.em, { id: planId, runId: input.runId, workspace: input.params.workspace, plan: bytes, summary, prior });
      // The plan is in PostgreSQL now; nothing of this step needs the disk any more.
      await removeDir(session.dirs.stepDir);
      // Exit code 2 also covers output-only changes, which count as changes to apply.
      return { hasChanges: code === 2, summary, planId };
    },

    async terraformApply(input: TerraformApplyInput): Promise<{ applied: true }> {
      return applySavedPlan(deps, input);
    },

    /** After a cancel that found no attempt running: stops the apply's launch if it still runs. */
    async terraformStopApply(input: TerraformApplyInput): Promise<{ running: boolean }> {
      return stopApply(deps, input);
    },

    /** Drops a run's saved plans (they hold variable values) once the run is over. */
    async terraformDiscardPlans(input: { runId: string }): Promise<number> {
      return discardPlans(deps.em, input.runId);
    },

  };
}
