import type { EntityManager } from '@mikro-orm/postgresql';
import type { SshHostResult } from '../../contracts/kinds/ssh-command.ts';
import { loadIntegrationSecret } from '../../core/integrations/store.ts';
import type { Logger } from '../../core/logger.ts';
import type { RunEventStore } from '../../core/run-events.ts';
import type { Keyring } from '../../core/secrets/keyring.ts';
import { runOnHost, stopOnHost, type SshHostInput } from './host-run.ts';

export type SshDeps = { em: EntityManager; databaseUrl: string; events: RunEventStore; logger: Logger; keyring: Keyring; hostId: string; graceMs: number };
export type { SshHostInput } from './host-run.ts';

export function createSshActivities(deps: SshDeps) {
  const login = async (teamId: string, integrationId: string) => {
    const loaded = await loadIntegrationSecret(deps.em.fork(), deps.keyring, { teamId, integrationId, type: 'ssh' });
    return { integrationName: loaded.name, settings: loaded.settings, secrets: loaded.secrets };
  };
  return {
    /** The command on one host, at most once, its output streamed as `log` events naming the host. */
    async sshCommandHost(input: SshHostInput): Promise<SshHostResult> {
      return runOnHost({ ...deps, login }, input);
    },

    /** A cancel that found no attempt following the host's command: stops it there (see host-run.ts). */
    async sshCommandStop(input: SshHostInput): Promise<{ running: boolean }> {
      return stopOnHost({ ...deps, login }, input);
    },
  };
}
