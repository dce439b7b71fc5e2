import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { EntityManager } from '@mikro-orm/postgresql';
import { ESCALATION_VERSION, escalationWorkflowId, type EscalationInput } from '../../contracts/alerts/escalation.ts';
import { TASK_QUEUES } from '../../contracts/temporal.ts';
import { AlertSchema } from '../../db/entities/index.ts';
import type { Logger } from '../logger.ts';

/** How an alert's escalation workflow is started (alone, or with a signal): its id is the alert's, and it runs as today's version. */
export const escalationStartOptions = (input: EscalationInput) => ({
  taskQueue: TASK_QUEUES.notifications,
  workflowId: escalationWorkflowId(input.alertId),
  args: [{ ...input, version: ESCALATION_VERSION }] as [EscalationInput],
});

/**
 * Starts an opened alert's escalation and marks the row as started. The row carried
 * `escalation_queued_at` from the transaction that opened it, so a start lost to a crash is found
 * again by the sweep below. Starting twice is harmless: the workflow id is the alert's.
 */
export async function startEscalation(deps: { temporal: Client }, em: EntityManager, input: EscalationInput): Promise<void> {
  await startWorkflow(deps, input);
  await em.fork().nativeUpdate(AlertSchema, { id: input.alertId }, { escalationQueuedAt: null });
}

function startWorkflow(deps: { temporal: Client }, input: EscalationInput): Promise<unknown> {
  return deps.temporal.workflow.start('alertEscalation', escalationStartOptions(input)).catch((err: unknown) => {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  });
}

export type EscalationOutbox = {
  /** Starts this escalation in the background; a failure is left to the sweep. */
  kick(input: EscalationInput): void;
  /** Starts every escalation queued longer than the grace period and still not started. */
  sweep(): Promise<number>;
  close(): Promise<void>;
};

/**
 * The API answers an alert source once the alert row has committed and starts its escalation after
 * the answer: a storm of alerts is accepted at the database's pace, not at the rate Temporal starts
 * workflows, and the sender (Alertmanager waits 10 s before it retries) is not kept waiting. Every
 * API process sweeps for starts that a crash lost (every `sweepMs`; 0 = only when asked); `graceMs`
 * keeps the sweep off starts still in flight.
 */
export function escalationOutbox(deps: { temporal: Client; em: EntityManager; logger: Logger }, opts: { sweepMs: number; graceMs: number }): EscalationOutbox {
  const inFlight = new Set<Promise<void>>();
  let sweeping: Promise<number> | undefined;

  // Group commit of the rows' marks: the first started escalation is marked at once, those started
  // while that statement runs go in the next one. A mark lost to a crash costs the sweep one start
  // that the server refuses as already started.
  let marks: string[] = [];
  let marking: Promise<void> | undefined;
  async function markStarted(): Promise<void> {
    while (marks.length > 0) {
      const ids = marks;
      marks = [];
      await deps.em
        .fork()
        .nativeUpdate(AlertSchema, { id: { $in: ids } }, { escalationQueuedAt: null })
        .catch((err: unknown) => deps.logger.warn({ err, alerts: ids.length }, 'marking escalations started failed; the sweep starts them again'));
    }
    marking = undefined;
  }

  const kick = (input: EscalationInput) => {
    const started: Promise<void> = startWorkflow(deps, input)
      .then(() => {
        marks.push(input.alertId);
        marking ??= markStarted();
      })
      .catch((err: unknown) => deps.logger.warn({ err, alertId: input.alertId }, 'starting an escalation failed; the sweep tries again'))
      .finally(() => inFlight.delete(started));
    inFlight.add(started);
  };

  async function sweepOnce(): Promise<number> {
    const rows = await deps.em.fork().find(
      AlertSchema,
      { escalationQueuedAt: { $lt: new Date(Date.now() - opts.graceMs) } },
      { fields: ['id', 'team', 'policySnapshot'], orderBy: { escalationQueuedAt: 'asc' }, limit: 200 },
    );
    for (const row of rows) {
      const input: EscalationInput = { alertId: row.id, teamId: (row.team as unknown as { id: string }).id, policy: row.policySnapshot ?? null };
      await startEscalation(deps, deps.em, input);
    }
    if (rows.length) deps.logger.info({ started: rows.length }, 'started escalations whose start had been lost');
    return rows.length;
  }
  // One sweep at a time per process; a caller asking meanwhile shares it.
  const sweep = () => (sweeping ??= sweepOnce().finally(() => (sweeping = undefined)));

  const timer = opts.sweepMs > 0 ? setInterval(() => void sweep().catch((err: unknown) => deps.logger.warn({ err }, 'sweeping queued escalations failed')), opts.sweepMs) : undefined;
  timer?.unref();
  return {
    kick,
    sweep,
    async close() {
      clearInterval(timer);
      await Promise.allSettled([...inFlight, sweeping]);
      await marking;
    },
  };
}
