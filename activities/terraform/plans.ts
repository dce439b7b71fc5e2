import type { EntityManager } from '@mikro-orm/postgresql';
import { RunSchema, TerraformPlanSchema } from '../../db/entities/index.ts';
import { stalePlan } from './failures.ts';
import type { StateVersion } from './state.ts';

type Summary = { add: number; change: number; destroy: number };
export type SavedPlan = { bytes: Buffer; prior: StateVersion };

/** Saved plans travel through PostgreSQL so the apply can run on any worker. */
export async function savePlan(
  root: EntityManager,
  input: { id: string; runId: string; workspace: string; plan: Buffer; summary: Summary; prior: StateVersion },
): Promise<void> {
  const em = root.fork();
  em.create(TerraformPlanSchema, {
    id: input.id,
    run: em.getReference(RunSchema, input.runId),
    workspace: input.workspace,
    plan: input.plan,
    summary: input.summary,
    priorSerial: input.prior?.serial ?? null,
    priorLineage: input.prior?.lineage ?? null,
  });
  await em.flush();
}

export async function loadPlan(root: EntityManager, planId: string, runId: string): Promise<SavedPlan> {
  const row = await root.fork().findOne(TerraformPlanSchema, { id: planId, run: runId });
  // Nothing to apply: planning again is the only way forward, exactly as for a stale plan.
  if (!row) throw stalePlan(`saved plan ${planId} not found`);
  const prior = row.priorSerial !== null && row.priorSerial !== undefined && row.priorLineage ? { serial: row.priorSerial, lineage: row.priorLineage } : null;
  return { bytes: Buffer.from(row.plan), prior };
}

/** Plans hold variable values; once a run is done with them they go. */
export async function discardPlans(root: EntityManager, runId: string): Promise<number> {
  return root.fork().nativeDelete(TerraformPlanSchema, { run: runId });
}
