import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import type { EscalationStep } from '../../contracts/alerts/index.ts';
import { TeamSchema } from './team.ts';

/**
 * A team's escalation chain. `version` rises with every change; an escalation that started copies the
 * steps of its version into its workflow input, so an edit never changes an alert already paging.
 */
export const EscalationPolicySchema = defineEntity({
  name: 'EscalationPolicy',
  tableName: 'escalation_policies',
  uniques: [{ properties: ['team', 'name'], name: 'escalation_policies_team_id_name_unique' }],
  properties: {
    id: p.uuid().primary(),
    team: () => p.manyToOne(TeamSchema).deleteRule('cascade'),
    name: p.string(),
    version: p.integer().default(1),
    isDefault: p.boolean().default(false),
    steps: p.json<EscalationStep[]>(),
    repeat: p.integer().default(0),
    ackTimeoutSeconds: p.integer(),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  },
});
export type EscalationPolicy = InferEntity<typeof EscalationPolicySchema>;
