import type { EntityManager } from '@mikro-orm/postgresql';
import { TerraformUnsavedStateSchema, type TerraformUnsavedState } from '../entities/index.ts';

/** Keeps a state terraform could not save; finding the same launch's file again adds nothing. */
export async function keepUnsavedState(em: EntityManager, input: { runId: string; procId: string; schema: string; state: string }): Promise<void> {
  await em.execute(
    `insert into terraform_unsaved_states (id, run_id, proc_id, schema, state, created_at) values (?, ?, ?, ?, ?, now())
     on conflict (proc_id) do nothing`,
    [crypto.randomUUID(), input.runId, input.procId, input.schema, input.state],
  );
}

/** The states of a workspace (its state schema) that terraform could not save, oldest first, whichever run kept them. */
export async function unsavedStates(em: EntityManager, schema: string): Promise<TerraformUnsavedState[]> {
  return em.find(TerraformUnsavedStateSchema, { schema, pushedAt: null }, { orderBy: { createdAt: 'asc' } });
}

/** Once pushed, the state lives in the workspace's backend; the copy (which may hold secrets) goes. */
export async function forgetUnsavedState(em: EntityManager, id: string): Promise<void> {
  await em.nativeDelete(TerraformUnsavedStateSchema, { id });
}
