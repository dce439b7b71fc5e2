import type { z } from 'zod';
import type { TaskQueue } from '../temporal.ts';

/**
 * How the dashboard shows a kind's run summary: `plan` (add/change/destroy), `hosts` (a per-host
 * recap table), `deploy` (versions and rollout), `none`. The summary object itself is the kind's.
 */
export type SummaryStyle = 'plan' | 'hosts' | 'deploy' | 'findings' | 'none';

/**
 * Everything the platform needs to know about one kind of run, in one typed object. The params type
 * flows from the schema into `target` and `integrations`, so a definition cannot disagree with itself.
 */
export type KindSpec<S extends z.ZodType> = {
  kind: string;
  title: string;
  description: string;
  paramsSchema: S;
  workflowType: string;
  taskQueue: TaskQueue;
  /** The resource a run acts on; two active runs of this kind in one team may not share it (null: never exclusive). */
  target: (params: z.infer<S>) => string | null;
  /** Ids of the team integrations the params use: recorded with the run, so one in use cannot be deleted. */
  integrations: (params: z.infer<S>) => string[];
  /**
   * The target with what the params leave to their integrations filled in (their settings, by id), so
   * two ways of naming one resource are one target. Default: `target`.
   */
  settledTarget?: (params: z.infer<S>, settings: ReadonlyMap<string, Record<string, unknown>>) => string | null;
  /** `always`: every run waits for a person before it changes anything (unless auto-applied); `optional`: when the params ask; `never`. */
  approval: 'always' | 'optional' | 'never';
  summary: SummaryStyle;
  /** The params as the API shows them (a run's view): without values that may be secrets. Default: as stored. */
  shownParams?: (params: z.infer<S>) => Record<string, unknown>;
};

/** A validated start request: the params as the kind's schema parsed them, and what they act on. */
export type ParsedParams = { params: Record<string, unknown>; target: string | null; integrations: string[] };

/** A kind as the rest of the platform handles it, whatever its params type. */
export type Kind = Omit<KindSpec<z.ZodType>, 'target' | 'integrations' | 'paramsSchema' | 'shownParams' | 'settledTarget'> & {
  paramsSchema: z.ZodType;
  /** Set when the target depends on the settings of the integrations the params use (see KindSpec). */
  settledTarget?: (params: Record<string, unknown>, settings: ReadonlyMap<string, Record<string, unknown>>) => string | null;
  /** The params as the API shows them; stored params that no longer parse are shown as they are. */
  shownParams: (params: Record<string, unknown>) => Record<string, unknown>;
  /** Validates raw params; the zod error (field paths under `params`) when they are not valid. */
  parse: (raw: unknown) => { ok: true; value: ParsedParams } | { ok: false; error: z.ZodError };
};

export function defineKind<S extends z.ZodType<Record<string, unknown>>>(spec: KindSpec<S>): Kind {
  const { target, integrations, shownParams, settledTarget, ...rest } = spec;
  return {
    ...rest,
    ...(settledTarget ? { settledTarget: (params: Record<string, unknown>, settings: ReadonlyMap<string, Record<string, unknown>>) => settledTarget(params as z.infer<S>, settings) } : {}),
    shownParams: (params) => (shownParams ? shownParams(params as z.infer<S>) : params),
    parse: (raw) => {
      const parsed = spec.paramsSchema.safeParse(raw);
      if (!parsed.success) return { ok: false, error: parsed.error };
      const params = parsed.data;
      return { ok: true, value: { params, target: target(params), integrations: integrations(params) } };
    },
  };
}
