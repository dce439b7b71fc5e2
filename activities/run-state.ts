import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Redis } from 'ioredis';
import type { NewRunEvent } from '../contracts/events.ts';
import { isTerminal } from '../contracts/runs.ts';
import type { RecordRunStateInput } from '../contracts/temporal.ts';
import type { Logger } from '../core/logger.ts';
import type { RedisKeys } from '../core/redis.ts';
import type { Metrics } from '../core/metrics.ts';
import type { RunEventStore } from '../core/run-events.ts';
import { updateRunState } from '../db/repositories/runs.ts';

export type { RecordRunStateInput };

export type RunStateDeps = { em: EntityManager; redis: Redis; keys: RedisKeys; events: RunEventStore; logger: Logger; metrics?: Metrics };

function eventsFor(input: RecordRunStateInput, key: string, attempt: number): NewRunEvent[] {
  const events: NewRunEvent[] = [];
  // input.message describes the most significant part of the change: approval, then status, then step.
  let message = input.message;
  const take = (fallback: string) => {
    const m = message ?? fallback;
    message = undefined;
    return m;
  };
  const a = input.approval;
  if (a) {
    const text = `${a.decision} by ${a.byEmail}${a.comment ? `: ${a.comment}` : ''}`;
    events.push({ type: 'approval', level: 'info', message: take(text), data: { key, approval: a }, attempt });
  }
  if (input.status) {
    const bad = input.status === 'failed' || input.status === 'timed_out';
    const data = { key, status: input.status, ...(input.summary ? { summary: input.summary } : {}), ...(input.error ? { error: input.error } : {}) };
    events.push({ type: 'status', level: bad ? 'error' : 'info', message: take(input.error ? `${input.status}: ${input.error}` : input.status), data, attempt });
  }
  if (input.step) {
    events.push({ type: 'step', level: 'info', message: take(`step ${input.step}`), data: { key, step: input.step }, attempt });
  }
  if (message !== undefined) events.push({ type: 'step', level: 'info', message, data: { key }, attempt });
  return events;
}

/**
 * Applies a state change to the Run row, records it as events and announces it on the `runs` topic.
 * `key` makes a retry harmless: events carrying an already stored key are not appended twice, the
 * row update is idempotent (and a terminal status sticks), and a repeated announcement is only news again.
 */
export async function applyRunState(deps: RunStateDeps, input: RecordRunStateInput, key: string, attempt = 1): Promise<void> {
  const { runId, status, step, summary, approval, error } = input;
  const run = await updateRunState(deps.em.fork(), runId, { status, step, summary, approval, error }, new Date(), key);
  if (!run) {
    throw ApplicationFailure.create({ message: `run ${runId} does not exist`, type: 'RunNotFound', nonRetryable: true });
  }
  const events = eventsFor(input, key, attempt);
  if (!run.keySeen && events.length > 0) await deps.events.append(runId, events);
  // Counted once per run: a retry carries a seen key, and a late report cannot move a terminal status.
  if (!run.keySeen && status && isTerminal(status) && run.status === status) deps.metrics?.runOutcomes.inc({ kind: run.kind, status });

  const announcement = {
    op: 'run',
    run: { id: runId, status: run.status, kind: run.kind, team: run.teamSlug, target: run.target, step: run.step },
  };
  try {
    await deps.redis.publish(deps.keys.runsChannel, JSON.stringify(announcement));
  } catch (err) {
    // The row and the events are the record; the announcement is a courtesy to live list views.
    deps.logger.warn({ err, runId }, 'announcing run state failed');
  }
}

export function createRunStateActivities(deps: RunStateDeps) {
  return {
    async recordRunState(input: RecordRunStateInput): Promise<void> {
      const { info } = Context.current();
      // Stable across retries of this activity, distinct for every other call in the workflow.
      const key = `${info.workflowExecution?.runId ?? info.activityType}:${info.activityId}`;
      await applyRunState(deps, input, key, info.attempt);
    },
  };
}
