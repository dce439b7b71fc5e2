import path from 'node:path';
import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import type { TerraformParams } from '../../contracts/kinds/terraform.ts';
import type { Config } from '../../core/config.ts';
import type { CommandSpec, Ending } from '../process/command.ts';
import type { ProcessRunner } from '../process/runner.ts';
import { leaseSandbox, type Sandbox } from '../process/sandbox.ts';
import { commandFailure } from './failures.ts';
import { checkConfiguration, type TerraformPolicy } from './policy.ts';
import type { StateStore, WorkspaceState } from './state.ts';
import type { StepDirs } from '../process/step-dir.ts';
import { configurationFiles, prepareWorkDir } from './workdir.ts';
import { checkout, type GitCredentials } from '../git/checkout.ts';

// One active run per workspace is enforced before terraform starts, so a held lock is almost always a
// process that was just interrupted or killed: PostgreSQL frees its advisory lock moments after the
// session ends. Waiting briefly beats failing the attempt and paying a retry.
export const LOCK_WAIT = '-lock-timeout=20s';

export type TerraformStepInput = {
  runId: string;
  teamId: string;
  params: TerraformParams;
  /** The workflow's name for this unit of work; every attempt of the activity carries the same one. */
  step: string;
};

export type SessionDeps = {
  config: Pick<Config, 'TERRAFORM_BIN' | 'WORK_DIR'>;
  runner: ProcessRunner;
  state: StateStore;
  /** Whether user code runs as a per-run uid (the worker is root) or as the worker's own user. */
  sandboxed: boolean;
  /** What a process needs from the worker's environment (PATH, locale); never its secrets. */
  processEnv: Record<string, string>;
  /** The team's Terraform policy, read when a step starts (a change applies to the next step). */
  policyFor: (teamId: string) => Promise<TerraformPolicy>;
  /** The team's git integration, decrypted, for a private source repository. */
  gitCredentials: (teamId: string, integrationId: string) => Promise<GitCredentials>;
};

export type Session = {
  dirs: StepDirs;
  /** The commit of the run's git source this step's configuration came from (null: inline files). */
  commit: string | null;
  state: WorkspaceState;
  sandbox: Sandbox;
  env: Record<string, string>;
  spec: (command: string, args: string[], sideEffects?: boolean) => CommandSpec;
  /** Runs a command that may safely run again, and turns anything but success into the error to throw. */
  run: (command: string, args: string[], okCodes?: number[]) => Promise<number>;
};

/** Turns how a launch ended into its exit code, or the error that ends the attempt. */
export function settle(command: string, ending: Ending, okCodes: number[] = [0]): number {
  if (ending.kind === 'killed') throw new CancelledFailure(`terraform ${command} was killed on a force cancel`);
  if (ending.kind === 'exited' && ending.interrupted) throw new CancelledFailure(`terraform ${command} stopped on a cancel`);
  if (ending.kind === 'exited' && okCodes.includes(ending.code)) return ending.code;
  throw commandFailure(command, { code: ending.kind === 'exited' ? ending.code : null, stderrTail: ending.stderrTail });
}

/** Everything one step needs on this host: its work dir, the team's state credentials, the command specs. */
export async function openSession(deps: SessionDeps, input: TerraformStepInput): Promise<Session> {
  const root = deps.config.WORK_DIR;
  const sandbox = deps.sandboxed ? await leaseSandbox(root, input.runId) : null;
  const { source } = input.params;
  const fetchSource = source
    ? async (into: string) => {
        const credentials = source.integration ? await deps.gitCredentials(input.teamId, source.integration) : undefined;
        return checkout({ source, dest: into, scratch: `${into}.scratch`, credentials, signal: Context.current().cancellationSignal });
      }
    : undefined;
  const { commit, ...dirs } = await prepareWorkDir(root, input.runId, input.step, input.params, sandbox, fetchSource);
  // Checked on what is in the work dir: inline files and a checkout alike, before terraform reads any of it.
  await checkConfiguration(await configurationFiles(dirs.workDir), await deps.policyFor(input.teamId));
  const state = await deps.state.forWorkspace(input.teamId, input.params.workspace);
  const home = dirs.workDir;
  const env: Record<string, string> = {
    ...deps.processEnv,
    HOME: home,
    TMPDIR: home,
    USER: sandbox ? `run-${sandbox.uid}` : (deps.processEnv.USER ?? 'opssight'),
    LOGNAME: sandbox ? `run-${sandbox.uid}` : (deps.processEnv.USER ?? 'opssight'),
    TF_IN_AUTOMATION: '1',
    TF_INPUT: '0',
    CHECKPOINT_DISABLE: '1',
    TF_CLI_CONFIG_FILE: path.join(home, '.terraformrc'),
    // The pg backend reads its connection string from here: never on a command line, in the plan file or .terraform/.
    PG_CONN_STR: state.connStr,
  };
  const spec = (command: string, args: string[], sideEffects = false): CommandSpec => ({
    runId: input.runId,
    step: input.step,
    command,
    sideEffects,
    bin: deps.config.TERRAFORM_BIN,
    args,
    env,
    cwd: dirs.workDir,
    stepDir: dirs.stepDir,
    sandbox,
    header: `$ terraform ${args.join(' ')}`,
    secrets: state.secrets,
  });
  const run = async (command: string, args: string[], okCodes = [0]) => settle(command, await deps.runner.exec(spec(command, args)), okCodes);
  return { dirs, commit, state, sandbox, env, spec, run };
}

/**
 * init against the team's schema. The schema, table and grants are prepared by the worker (the team's
 * role may create nothing outside its schema), so terraform is told to skip creating them.
 */
export function initArgs(schema: string): string[] {
  return [
    'init',
    '-input=false',
    `-backend-config=schema_name=${schema}`,
    '-backend-config=skip_schema_creation=true',
    '-backend-config=skip_table_creation=true',
    '-backend-config=skip_index_creation=true',
  ];
}

export const cancellationSignal = () => Context.current().cancellationSignal;
