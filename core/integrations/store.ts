import type { EntityManager } from '@mikro-orm/postgresql';
import { integrationSchema, integrationTypeOf, type IntegrationType, type SecretsOf, type SettingsOf } from '../../contracts/integrations/index.ts';
import { findIntegrationWithSecret } from '../../db/repositories/integrations.ts';
import { NotFoundError } from '../errors.ts';
import type { Keyring } from '../secrets/keyring.ts';

/** The envelope's context: a sealed secret opens only for the integration row it was written for. */
const contextOf = (integrationId: string) => `integration:${integrationId}`;

/** Seals validated secrets for the integration `integrationId`; also names the fields stored. */
export async function sealIntegrationSecrets(keyring: Keyring, integrationId: string, secrets: Record<string, unknown>) {
  const present = Object.fromEntries(Object.entries(secrets).filter(([, v]) => v !== undefined));
  const { envelope, keyId } = await keyring.seal(JSON.stringify(present), contextOf(integrationId));
  return { secret: envelope, keyId, secretFields: Object.keys(present).sort() };
}

export async function openIntegrationSecrets(keyring: Keyring, integrationId: string, envelope: string): Promise<Record<string, unknown>> {
  return JSON.parse(await keyring.open(envelope, contextOf(integrationId))) as Record<string, unknown>;
}

/** Re-seals an envelope under the keyring's current key (key rotation); the plaintext never leaves this function. */
export async function resealIntegrationSecret(keyring: Keyring, integrationId: string, envelope: string) {
  const plaintext = await keyring.open(envelope, contextOf(integrationId));
  return keyring.seal(plaintext, contextOf(integrationId));
}

export type LoadedIntegration<T extends IntegrationType = IntegrationType> = {
  id: string;
  teamId: string;
  type: T;
  name: string;
  settings: SettingsOf<T>;
  secrets: SecretsOf<T>;
};

/**
 * An integration of the team with its secrets decrypted, settings and secrets validated by its
 * type's schema: what an activity needs to reach the external system. Another team's integration,
 * or one of another type than `type`, is not found.
 */
export async function loadIntegrationSecret<T extends IntegrationType = IntegrationType>(
  em: EntityManager,
  keyring: Keyring,
  ref: { teamId: string; integrationId: string; type?: T },
): Promise<LoadedIntegration<T>> {
  const row = await findIntegrationWithSecret(em, ref.teamId, ref.integrationId);
  if (!row || (ref.type && row.type !== ref.type)) throw new NotFoundError(`${ref.type ?? ''} integration ${ref.integrationId} not found in the run's team`.trim());
  const def = integrationTypeOf(row.type);
  if (!def) throw new Error(`integration ${row.id} has type ${row.type}, which this version does not know`);
  const secrets = await openIntegrationSecrets(keyring, row.id, row.secret);
  const parsed = integrationSchema(def).safeParse({ settings: row.settings, secrets });
  // Paths only: the values include secrets.
  if (!parsed.success) throw new Error(`integration ${row.id} no longer matches the ${row.type} schema (${parsed.error.issues.map((i) => i.path.join('.')).join(', ')})`);
  const data = parsed.data as { settings: SettingsOf<T>; secrets: SecretsOf<T> };
  return { id: row.id, teamId: ref.teamId, type: row.type as T, name: row.name, settings: data.settings, secrets: data.secrets };
}
