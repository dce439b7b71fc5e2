import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { RunSchema } from './run.ts';

/**
 * A state terraform changed but could not save (its errored.tfstate), copied here the moment it is
 * found so that neither a dead host nor a cleaned work dir can lose it; pushed to the workspace's
 * state before anything else runs there.
 */
export const TerraformUnsavedStateSchema = defineEntity({
  name: 'TerraformUnsavedState',
  tableName: 'terraform_unsaved_states',
  properties: {
    id: p.uuid().primary(),
    run: () => p.manyToOne(RunSchema).deleteRule('cascade').index(),
    /** The launch whose errored.tfstate this was: one copy per launch, however often it is found. */
    procId: p.uuid().unique(),
    schema: p.string(),
    state: p.text(),
    createdAt: p.datetime().onCreate(() => new Date()),
    pushedAt: p.datetime().nullable(),
  },
});
export type TerraformUnsavedState = InferEntity<typeof TerraformUnsavedStateSchema>;
