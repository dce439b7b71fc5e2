import type { EntityManager } from '@mikro-orm/postgresql';
import { ApplicationFailure } from '@temporalio/common';
import { FAILURE_TYPES } from '../../contracts/temporal.ts';
import { RunSchema, TerraformPlanSchema } from '../../db/entities/index.ts';

type Summary = { add: number; change: number; destroy: number };

/** Saved plans travel through PostgreSQL so the apply can run on any worker. */
export async function savePlan(
  root: EntityManager,
  input: { id: string; runId: string; workspace: string; plan: Buffer; summary: Summary },
): Promise<void> {
  const em = root.fork();
  em.create(TerraformPlanSchema, {
    id: input.id,
    run: em.getReference(RunSchema, input.runId),
    workspace: input.workspace,
    plan: input.plan,
    summary: input.summary,
  });
  await em.flush();
}

export async function loadPlan(root: EntityManager, planId: string, runId: string): Promise<Buffer> {
  const row = await root.fork().findOne(TerraformPlanSchema, { id: planId, run: runId });
  if (!row) {
    // Nothing to apply: planning again is the only way forward, exactly as for a stale plan.
    throw ApplicationFailure.create({ message: `saved plan ${planId} not found`, type: FAILURE_TYPES.stalePlan, nonRetryable: true });
  }
  return Buffer.from(row.plan);
}

/** Plans hold variable values; once a run is done with them they go. */
export async function discardPlans(root: EntityManager, runId: string): Promise<number> {
  return root.fork().nativeDelete(TerraformPlanSchema, { run: runId });
}
