import type { EntityManager } from '@mikro-orm/postgresql';
import type { AnsiblePlayResult } from '../../contracts/kinds/ansible.ts';
import type { Config } from '../../core/config.ts';
import { loadIntegrationSecret } from '../../core/integrations/store.ts';
import type { RunEventStore } from '../../core/run-events.ts';
import type { Keyring } from '../../core/secrets/keyring.ts';
import type { ProcessRunner } from '../process/runner.ts';
import { playOnce, stopPlay, type PlayInput } from './play.ts';
import { closeMasters, controlDirOf } from './connection.ts';
import { openSession, type AnsibleStepInput } from './session.ts';
import { outcomeOf } from './outcome.ts';
import { removeDir } from '../process/step-dir.ts';

export type AnsibleDeps = {
  config: Pick<Config, 'ANSIBLE_PLAYBOOK_BIN' | 'NSS_WRAPPER_LIB' | 'WORK_DIR'>;
  em: EntityManager;
  runner: ProcessRunner;
  events: RunEventStore;
  keyring: Keyring;
  hostId: string;
  sandboxed: boolean;
  processEnv: Record<string, string>;
};

export type { AnsibleStepInput, PlayInput };

export function createAnsibleActivities(base: AnsibleDeps) {
  const sshLogin = async (teamId: string, integrationId: string) => {
    const loaded = await loadIntegrationSecret(base.em.fork(), base.keyring, { teamId, integrationId, type: 'ssh' });
    return { settings: loaded.settings, secrets: loaded.secrets };
  };
  const gitCredentials = async (teamId: string, integrationId: string) => {
    const loaded = await loadIntegrationSecret(base.em.fork(), base.keyring, { teamId, integrationId, type: 'git' });
    return { settings: loaded.settings, secrets: loaded.secrets };
  };
  const deps = { ...base, sshLogin, gitCredentials };
  return {
    /**
     * ansible-playbook --check --diff: what the play would change, per host. Safe to run again, so an
     * attempt that finds no launch of its own simply starts one.
     */
    async ansibleCheck(input: AnsibleStepInput): Promise<AnsiblePlayResult> {
      const session = await openSession(deps, input);
      const ending = await deps.runner.exec(session.spec('ansible-playbook', 'check'));
      // Only once the process has ended: an attempt that detaches leaves a running play its connections.
      await closeMasters(controlDirOf(deps.config.WORK_DIR, input.runId));
      const result = await outcomeOf('check', ending, { ...session, workDir: session.dirs.workDir });
      await removeDir(session.dirs.stepDir);
      return result;
    },

    /** The real run, launched at most once whatever happens to workers (see play.ts). */
    async ansiblePlay(input: PlayInput): Promise<AnsiblePlayResult> {
      return playOnce(deps, input);
    },

    /** A cancel that found no attempt following the play: stops the play where it runs (see play.ts). */
    async ansibleStopPlay(input: PlayInput): Promise<{ running: boolean }> {
      return stopPlay(deps, input);
    },
  };
}
