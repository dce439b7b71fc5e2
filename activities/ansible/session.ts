import { chown, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { EntityManager } from '@mikro-orm/postgresql';
import { ANSIBLE_FAILED, type AnsibleParams, type AnsibleRecap } from '../../contracts/kinds/ansible.ts';
import type { Config } from '../../core/config.ts';
import { checkout, type GitCredentials } from '../git/checkout.ts';
import type { CommandSpec } from '../process/command.ts';
import type { ProcessRunner } from '../process/runner.ts';
import { leaseSandbox, type Sandbox } from '../process/sandbox.ts';
import { connectionFiles, controlDirOf, openKey, sshArgs, type SshLogin } from './connection.ts';
import { describeAnsibleLine } from './lines.ts';
import type { StepDirs } from '../process/step-dir.ts';
import { OWN_DIR, prepareWorkDir } from './workdir.ts';
import { storedRecap } from '../../db/repositories/ansible-output.ts';

export type AnsibleStepInput = {
  runId: string;
  teamId: string;
  params: AnsibleParams;
  /** The workflow's name for this unit of work (`check-1`, `run`); every attempt carries the same one. */
  step: string;
};

export type SessionDeps = {
  em: EntityManager;
  config: Pick<Config, 'ANSIBLE_PLAYBOOK_BIN' | 'NSS_WRAPPER_LIB' | 'WORK_DIR'>;
  runner: ProcessRunner;
  sandboxed: boolean;
  processEnv: Record<string, string>;
  /** The team's ssh integration, decrypted. */
  sshLogin: (teamId: string, integrationId: string) => Promise<SshLogin>;
  gitCredentials: (teamId: string, integrationId: string) => Promise<GitCredentials>;
};

export type Session = {
  dirs: StepDirs;
  commit: string | null;
  sandbox: Sandbox;
  spec: (command: string, mode: 'check' | 'run') => CommandSpec;
  /** The recap launch `procId` printed; null when it ended before its recap (a parse error, a kill). */
  recap: (procId: string) => Promise<AnsibleRecap | null>;
};

const CALLBACK = new URL('./opssight_json.py', import.meta.url);

/** ansible.cfg of every run: our callback prints the output, nothing is read from the user's or the host's configuration. */
const ansibleCfg = (own: string, controlDir: string) =>
  [
    '[defaults]',
    'stdout_callback = opssight_json',
    `callback_plugins = ${path.join(own, 'callback_plugins')}`,
    `inventory = ${path.join(own, 'inventory.json')}`,
    'host_key_checking = True',
    'interpreter_python = auto_silent',
    'retry_files_enabled = False',
    'nocows = True',
    `local_tmp = ${path.join(own, 'tmp')}`,
    '',
    '[ssh_connection]',
    `control_path_dir = ${controlDir}`,
    'pipelining = True',
    '',
  ].join('\n');

/** Everything one step needs on this host: the playbook and connection files in the run's dir, the command spec. */
export async function openSession(deps: SessionDeps, input: AnsibleStepInput): Promise<Session> {
  const { params } = input;
  const signal = Context.current().cancellationSignal;
  if (deps.sandboxed && !deps.config.NSS_WRAPPER_LIB) {
    // Without it ssh stops with "No user exists for uid …" on every host: say what the worker lacks instead.
    throw ApplicationFailure.create({
      message: 'this worker runs Ansible as a sandbox uid, which needs nss_wrapper for ssh: install Debian\'s libnss-wrapper and set NSS_WRAPPER_LIB (scripts/bootstrap.sh does both)',
      type: ANSIBLE_FAILED,
      nonRetryable: true,
    });
  }
  const sandbox = deps.sandboxed ? await leaseSandbox(deps.config.WORK_DIR, input.runId) : null;
  const logins = new Map<string, SshLogin>();
  const secrets: string[] = [];
  const keyLines = (key: string) => [key, ...key.split('\n').filter((s) => s.length >= 16 && !s.startsWith('-----'))];
  // ssh's control sockets: a short path (a socket's must fit in 108 bytes), shared by the run's steps.
  const controlDir = controlDirOf(deps.config.WORK_DIR, input.runId);
  await mkdir(controlDir, { recursive: true, mode: 0o700 });
  if (sandbox) await chown(controlDir, sandbox.uid, sandbox.gid);
  for (const id of new Set(params.inventory.hosts.map((h) => h.integration))) {
    const login = await deps.sshLogin(input.teamId, id);
    // Opened in the run's directory: whatever a killed attempt leaves there goes with the run's files.
    const opened = await openKey(login.secrets.privateKey, login.secrets.passphrase, path.dirname(controlDir));
    secrets.push(...keyLines(login.secrets.privateKey), ...keyLines(opened), ...(login.secrets.passphrase ? [login.secrets.passphrase] : []));
    logins.set(id, { settings: login.settings, secrets: { privateKey: opened, passphrase: undefined } });
  }

  const { source } = params;
  const fetchSource = source
    ? async (into: string) => {
        const credentials = source.integration ? await deps.gitCredentials(input.teamId, source.integration) : undefined;
        return checkout({ source, dest: into, scratch: `${into}.scratch`, credentials, signal });
      }
    : undefined;
  const own = async (workDir: string) => ({
    ...(await connectionFiles({ params, workDir, logins, sandboxUser: sandbox, signal })),
    'ansible.cfg': { text: ansibleCfg(path.join(workDir, OWN_DIR), controlDir) },
    'tmp/.keep': { text: '' },
    'callback_plugins/opssight_json.py': { text: await readFile(CALLBACK, 'utf8') },
  });
  const { commit, fresh: _fresh, ...dirs } = await prepareWorkDir(deps.config.WORK_DIR, input.runId, input.step, params, sandbox, own, fetchSource);
  const ownDir = path.join(dirs.workDir, OWN_DIR);

  const user = sandbox ? `run-${sandbox.uid}` : (deps.processEnv.USER ?? 'opssight');
  const env: Record<string, string> = {
    ...deps.processEnv,
    HOME: dirs.workDir,
    TMPDIR: path.join(ownDir, 'tmp'),
    USER: user,
    LOGNAME: user,
    ANSIBLE_CONFIG: path.join(ownDir, 'ansible.cfg'),
    ANSIBLE_SSH_ARGS: sshArgs(dirs.workDir),
    ANSIBLE_FORCE_COLOR: '0',
    ANSIBLE_NOCOLOR: '1',
    PYTHONUNBUFFERED: '1',
  };
  if (sandbox && deps.config.NSS_WRAPPER_LIB) {
    Object.assign(env, { LD_PRELOAD: deps.config.NSS_WRAPPER_LIB, NSS_WRAPPER_PASSWD: path.join(ownDir, 'passwd'), NSS_WRAPPER_GROUP: path.join(ownDir, 'group') });
  }
  const spec = (command: string, mode: 'check' | 'run'): CommandSpec => {
    const args = [
      '-i', path.join(ownDir, 'inventory.json'),
      '-e', `@${path.join(ownDir, 'extra-vars.json')}`,
      ...(mode === 'check' ? ['--check', '--diff'] : []),
      ...(params.limit ? ['--limit', params.limit] : []),
      ...(params.tags.length ? ['--tags', params.tags.join(',')] : []),
      params.entry,
    ];
    return {
      runId: input.runId,
      step: input.step,
      command,
      sideEffects: mode === 'run',
      bin: deps.config.ANSIBLE_PLAYBOOK_BIN,
      args,
      env,
      cwd: dirs.workDir,
      stepDir: dirs.stepDir,
      sandbox,
      header: `$ ansible-playbook ${mode === 'check' ? '--check --diff ' : ''}${params.limit ? `--limit ${params.limit} ` : ''}${params.tags.length ? `--tags ${params.tags.join(',')} ` : ''}${params.entry}`,
      secrets,
      describeLine: describeAnsibleLine,
    };
  };
  const recap = (procId: string) => storedRecap(deps.em.fork(), input.runId, procId);
  return { dirs, commit, sandbox, spec, recap };
}
