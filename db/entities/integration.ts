import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { RunSchema } from './run.ts';
import { TeamSchema } from './team.ts';

/**
 * A team's credentials for one external system. `settings` are plain; the secrets are one sealed
 * envelope (core/secrets/keyring.ts) whose key id is also kept in `keyId`, so a key rotation finds
 * the rows still under an old key with an index instead of opening every envelope.
 */
export const IntegrationSchema = defineEntity({
  name: 'Integration',
  tableName: 'integrations',
  uniques: [{ properties: ['team', 'name'], name: 'integrations_team_id_name_unique' }],
  indexes: [{ properties: ['keyId'] }, { properties: ['team', 'type'] }],
  properties: {
    id: p.uuid().primary(),
    team: () => p.manyToOne(TeamSchema),
    type: p.string(),
    name: p.string(),
    settings: p.json<Record<string, unknown>>(),
    secret: p.text().lazy(),
    keyId: p.string(),
    /** Names of the stored secrets (never their values), fingerprint and public key of a stored SSH key. */
    secretFields: p.json<string[]>(),
    fingerprint: p.string().nullable(),
    publicKey: p.text().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  },
});
export type Integration = InferEntity<typeof IntegrationSchema>;

/** Which integrations a run uses; an integration an active run uses cannot be deleted. */
export const RunIntegrationSchema = defineEntity({
  name: 'RunIntegration',
  tableName: 'run_integrations',
  properties: {
    run: () => p.manyToOne(RunSchema).primary().deleteRule('cascade'),
    integration: () => p.manyToOne(IntegrationSchema).primary().deleteRule('cascade').index(),
  },
});
export type RunIntegration = InferEntity<typeof RunIntegrationSchema>;
