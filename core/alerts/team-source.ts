import type { EntityManager } from '@mikro-orm/postgresql';
import type { AlertSourceSettings } from '../../contracts/integrations/alert-source.ts';
import { TeamSchema } from '../../db/entities/index.ts';
import { loadIntegrationSecret } from '../integrations/store.ts';
import type { Keyring } from '../secrets/keyring.ts';
import type { AlertSource } from './ingest.ts';

/** A team's alert-source integration as scans raise alerts through it (its escalation policy included). */
export async function teamAlertSource(em: EntityManager, keyring: Keyring, teamId: string, integrationId: string): Promise<AlertSource> {
  const [loaded, team] = await Promise.all([
    loadIntegrationSecret(em.fork(), keyring, { teamId, integrationId, type: 'alert-source' }),
    em.fork().findOneOrFail(TeamSchema, teamId, { fields: ['slug'] }),
  ]);
  return { id: loaded.id, name: loaded.name, teamId, teamSlug: team.slug, policyId: (loaded.settings as AlertSourceSettings).policy ?? null };
}
