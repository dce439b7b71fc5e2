import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { RunSchema } from './run.ts';

/**
 * A saved `terraform plan -out` file. Kept in PostgreSQL rather than on a worker's disk so the
 * apply can run on whichever worker picks it up (including after the planning worker died).
 */
export const TerraformPlanSchema = defineEntity({
  name: 'TerraformPlan',
  tableName: 'terraform_plans',
  properties: {
    id: p.uuid().primary(),
    run: () => p.manyToOne(RunSchema).deleteRule('cascade').index(),
    workspace: p.string(),
    plan: p.type('blob'),
    summary: p.json<{ add: number; change: number; destroy: number }>(),
    /**
     * The state the plan was made against (null: no state yet). After an interrupted apply, a state
     * with another serial or lineage proves the apply wrote something, so the plan is stale.
     */
    priorSerial: p.integer().nullable(),
    priorLineage: p.string().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type TerraformPlan = InferEntity<typeof TerraformPlanSchema>;
