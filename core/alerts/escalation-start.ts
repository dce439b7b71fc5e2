import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { EntityManager } from '@mikro-orm/postgresql';
import { ESCALATION_VERSION, alertChangeSignal, escalationWorkflowId, type AlertChange, type EscalationInput } from '../../contracts/alerts/escalation.ts';
import { TASK_QUEUES } from '../../contracts/temporal.ts';
import { AlertSchema, type Alert } from '../../db/entities/index.ts';
import { clearMarks } from '../../db/repositories/alerts.ts';
import type { Logger } from '../logger.ts';

/**
 * How an alert's escalation workflow is started (alone, or with a signal): its id is the alert's, and
 * it runs as today's version. An escalation completes only when its alert is resolved: a start that
 * arrives after that (one queued before the resolve, or a sweep's) is refused instead of escalating a
 * resolved alert again, while one that failed may be started again.
 */
export const escalationStartOptions = (input: EscalationInput) => ({
  taskQueue: TASK_QUEUES.notifications,
  workflowId: escalationWorkflowId(input.alertId),
  workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY' as const,
  args: [{ ...input, version: ESCALATION_VERSION }] as [EscalationInput],
});

/** Starting an escalation that runs, or that ended with its alert resolved: nothing to do. */
export function ignoreStarted(err: unknown): void {
  if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
}

/**
 * Starts an opened alert's escalation and clears the row's mark. The row carried
 * `escalation_queued_at` from the transaction that opened it, so a start lost to a crash is found
 * again by the sweep below. Starting twice is harmless: the workflow id is the alert's.
 *
 * `queuedAt` is the mark the start answers (as written by the open, or as the sweep read it): only
 * that one is cleared. Clearing by the clock instead also erased an ack or resolve another API
 * process marked after the mark was read and died before telling the escalation.
 */
export async function startEscalation(deps: { temporal: Client }, em: EntityManager, input: EscalationInput, queuedAt: Date): Promise<void> {
  await startWorkflow(deps, input);
  await clearMarks(em.fork(), [{ id: input.alertId, at: queuedAt }]);
}

function startWorkflow(deps: { temporal: Client }, input: EscalationInput): Promise<unknown> {
  return deps.temporal.workflow.start('alertEscalation', escalationStartOptions(input)).catch(ignoreStarted);
}

const inputOf = (alert: Pick<Alert, 'id' | 'team' | 'policySnapshot'>): EscalationInput => ({ alertId: alert.id, teamId: (alert.team as unknown as { id: string }).id, policy: alert.policySnapshot ?? null });

/**
 * In the transaction that acknowledges or resolves an alert: the decision is owed to its escalation
 * (the same mark as a queued start) until tellWorkflow clears it, so a crash or a Temporal outage
 * between the commit and the signal leaves it for the sweep instead of losing it.
 */
export function markDecision(alert: Alert, now: Date): void {
  alert.escalationQueuedAt = now;
}

/**
 * Tells an alert's escalation of the ack or resolve its row's mark owes it, then clears the mark
 * unless a later decision replaced it. With start: an escalation whose start is still queued, or that
 * failed, is started with the change, so the change is never lost in front of a start.
 */
export async function tellWorkflow(deps: { temporal: Client }, em: EntityManager, alert: Pick<Alert, 'id' | 'team' | 'policySnapshot' | 'escalationQueuedAt'>, change: AlertChange): Promise<void> {
  await deps.temporal.workflow.signalWithStart('alertEscalation', { ...escalationStartOptions(inputOf(alert)), signal: alertChangeSignal, signalArgs: [change] }).catch(ignoreStarted);
  if (alert.escalationQueuedAt) await clearMarks(em.fork(), [{ id: alert.id, at: alert.escalationQueuedAt }]);
}

export type EscalationOutbox = {
  /** Starts this escalation in the background and clears the mark `queuedAt`; a failure is left to the sweep. */
  kick(input: EscalationInput, queuedAt: Date): void;
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
  let marks: { id: string; at: Date }[] = [];
  let marking: Promise<void> | undefined;
  async function markStarted(): Promise<void> {
    while (marks.length > 0) {
      const batch = marks;
      marks = [];
      await clearMarks(deps.em.fork(), batch).catch((err: unknown) => deps.logger.warn({ err, alerts: batch.length }, 'marking escalations started failed; the sweep starts them again'));
    }
    marking = undefined;
  }

  const kick = (input: EscalationInput, queuedAt: Date) => {
    const started: Promise<void> = startWorkflow(deps, input)
      .then(() => {
        marks.push({ id: input.alertId, at: queuedAt });
        marking ??= markStarted();
      })
      .catch((err: unknown) => deps.logger.warn({ err, alertId: input.alertId }, 'starting an escalation failed; the sweep tries again'))
      .finally(() => inFlight.delete(started));
    inFlight.add(started);
  };

  /** What each marked row owes its escalation: a start (still firing) or its ack or resolve. */
  async function sweepOnce(): Promise<number> {
    const rows = await deps.em.fork().find(
      AlertSchema,
      { escalationQueuedAt: { $lt: new Date(Date.now() - opts.graceMs) } },
      { fields: ['id', 'team', 'policySnapshot', 'status', 'acknowledgedBy', 'resolvedBy', 'escalationQueuedAt'], orderBy: { escalationQueuedAt: 'asc' }, limit: 200 },
    );
    for (const row of rows) {
      if (row.status === 'firing') await startEscalation(deps, deps.em, inputOf(row), row.escalationQueuedAt!);
      else if (row.status === 'acknowledged') await tellWorkflow(deps, deps.em, row, { type: 'ack', by: row.acknowledgedBy ?? 'unknown' });
      else await tellWorkflow(deps, deps.em, row, { type: 'resolve', by: row.resolvedBy ?? 'unknown' });
    }
    if (rows.length) deps.logger.info({ delivered: rows.length }, 'made escalation starts and decisions that had been lost');
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
