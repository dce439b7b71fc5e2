import type { z } from 'zod';
import { TASK_QUEUES, type TaskQueue } from '../temporal.ts';
import { terraformParamsSchema } from './terraform.ts';

export type KindDefinition<S extends z.ZodType = z.ZodType> = {
  kind: string;
  title: string;
  paramsSchema: S;
  workflowType: string;
  taskQueue: TaskQueue;
  /** The resource a run acts on; two active runs of one kind may not share it. */
  target: (params: z.infer<S>) => string;
};

export const terraformKind: KindDefinition<typeof terraformParamsSchema> = {
  kind: 'terraform',
  title: 'Terraform plan / apply',
  paramsSchema: terraformParamsSchema,
  workflowType: 'terraformRun',
  taskQueue: TASK_QUEUES.infra,
  target: (params) => params.workspace,
};

export const KINDS: Record<string, KindDefinition> = { terraform: terraformKind as KindDefinition };

/** The kind called `name`; own keys only, so `constructor` or `__proto__` are unknown kinds, not Object's. */
export const kindNamed = (name: string): KindDefinition | undefined => (Object.hasOwn(KINDS, name) ? KINDS[name] : undefined);
export const kindNames = (): string[] => Object.keys(KINDS);
