import { condition, patched, proxyActivities, proxyLocalActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { EscalationStep } from '../contracts/alerts/index.ts';
import { alertChangeSignal, escalationStateQuery, type EscalationActivities, type EscalationInput, type EscalationState, type NotificationJob, type TimelineEntry } from '../contracts/alerts/escalation.ts';

const record = proxyActivities<EscalationActivities>({ startToCloseTimeout: '30 seconds', retry: { initialInterval: '500 ms', maximumInterval: '10 seconds' } });
const targetsRetry = { initialInterval: '500 ms', maximumInterval: '5 seconds', maximumAttempts: 10 } as const;
const targets = proxyActivities<EscalationActivities>({ startToCloseTimeout: '30 seconds', retry: targetsRetry });
/** After a look-up of a step's targets gave up its retries: how long until it is asked again. */
const TARGETS_AGAIN_MS = 5_000;
// Resolving a step's targets is a read on the critical path of every page: as a local activity it runs
// inside the workflow task that the timer woke, so the sends are scheduled by that same task instead of
// after an activity task and a second workflow task (each waits in the server's queue when a thousand
// alerts escalate at once).
const localTargets = proxyLocalActivities<EscalationActivities>({ startToCloseTimeout: '30 seconds', retry: targetsRetry });
// Each notification retries on its own, with backoff; the chain never waits for one (see below).
const deliver = proxyActivities<EscalationActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 6 },
});

/**
 * One open alert's escalation (workflow id `alert-<alertId>`): runs the policy version it was started
 * with step by step on durable timers, so the timeline survives worker crashes. Notifications are
 * started and not awaited: a slow or failing channel delays neither the others nor the next step.
 * An acknowledgement stops the chain at once; an acknowledged alert not resolved within the policy's
 * ack timeout escalates again from the first step (a new cycle). A resolve ends the workflow.
 */
export async function alertEscalation(input: EscalationInput): Promise<{ outcome: 'resolved'; cycles: number }> {
  const state: EscalationState = { phase: 'escalating', cycle: 0, round: 0, step: 0, repeats: 0 };
  let acked = false;
  let resolved = false;
  // Timeline writes are awaited before the workflow ends; sends are not (each checks the alert is still firing).
  const pending: Promise<unknown>[] = [];
  // The entries one workflow task makes (a step's notify and the wait after it, say) go out as one
  // activity: each activity is a task to hand out and a workflow task to take its result, and with a
  // thousand alerts escalating at once those tasks are what the pages queue behind. Escalations
  // started before replay one activity per entry (no marker in their history).
  // Version 1 on (ESCALATION_VERSION, in the input), a task's entries ride with the first notification
  // it sends (that activity records them before it pages), so a step costs the server and the worker
  // one activity instead of two; a task that sends nothing still records its entries on their own.
  // Each entry is keyed by the workflow (run and position), so whichever activity writes it, it is
  // written once. Escalations started before carry no version: they replay by their patch markers.
  const versioned = (input.version ?? 0) >= 1;
  const batched = versioned || patched('escalation-timeline-batch');
  let held: TimelineEntry[] = [];
  let queued: NotificationJob[] = [];
  let dispatching = false;
  let noted = 0;
  const flush = () => {
    const entries = held;
    held = [];
    return record.recordAlertTimelineEntries({ alertId: input.alertId, entries });
  };
  // Entries riding with a send still in flight (a channel retrying): written on their own at the end.
  const carrying = new Set<TimelineEntry[]>();
  // While a step's targets are looked up (a local activity, inside the same task) entries wait for the
  // step's sends instead of going alone: the chain's start and a repeat ride with the first page too.
  // The caller dispatches what waited once it has made the step's entries and sends.
  let looking = false;
  const lookUp = async <T>(work: Promise<T>): Promise<T> => {
    looking = versioned;
    try {
      return await work;
    } finally {
      looking = false;
    }
  };
  // Once the task's synchronous work is done: by then it has made every entry and send it will.
  const dispatch = () => {
    dispatching = false;
    if (looking) return undefined;
    const jobs = queued;
    queued = [];
    if (!jobs.length) return held.length ? flush() : undefined;
    const entries = held;
    held = [];
    // A new cycle's reopen goes with every send of the task, not with the first alone: each send pages
    // only a firing alert, and reads it after writing what it carries (the entry is written once, by key).
    const reopening = entries.filter((e) => e.reopen);
    jobs.forEach((job, n) => send(job, n === 0 ? entries : reopening));
    return undefined;
  };
  const later = () => {
    if (dispatching) return;
    dispatching = true;
    pending.push(Promise.resolve().then(dispatch));
  };
  // Timeline entries carry the workflow's own time, so a slow database never shifts the record.
  const note = (type: string, message: string, data?: Record<string, unknown>, reopen?: boolean) => {
    const entry: TimelineEntry = { type, message, at: new Date().toISOString(), ...(data ? { data } : {}), ...(reopen ? { reopen } : {}) };
    if (versioned) {
      held.push({ ...entry, key: `${workflowInfo().runId}:${noted++}` });
      return later();
    }
    if (!batched) {
      pending.push(record.recordAlertTimeline({ alertId: input.alertId, ...entry }));
      return;
    }
    held.push(entry);
    // Scheduled once the task's synchronous work is done, with every entry it made by then.
    if (held.length === 1) pending.push(Promise.resolve().then(flush));
  };
  // PagerDuty incidents this alert triggered follow its acknowledge and resolve. Escalations started
  // before this existed replay without it (the marker is absent from their history).
  const followUp = (action: 'acknowledge' | 'resolve') => {
    if (versioned || patched('pagerduty-follow-up')) pending.push(deliver.followUpPagerDuty({ alertId: input.alertId, teamId: input.teamId, action, cycle: state.cycle }).catch(() => note('notification.failed', `gave up on PagerDuty ${action}`)));
  };
  // When an ack of the acknowledged alert came (workflow time): the ack timeout counts from it. The
  // one that matters lands in the same activation as the timeout's timer, where it runs first and,
  // dropped, let the timeout reopen the alert and page the person who had just acknowledged it.
  // Escalations that dropped it replay without the marker.
  let ackedAgainAt: number | null;
  setHandler(alertChangeSignal, (change) => {
    if (change.type === 'repeat') state.repeats++;
    else if (change.type === 'ack' && !resolved && !acked) {
      acked = true;
      note('acknowledged', `acknowledged by ${change.by}: escalation stopped`, { by: change.by });
      followUp('acknowledge');
    } else if (change.type === 'ack' && !resolved && input.policy && patched('escalation-ack-again')) {
      ackedAgainAt = Date.now();
      note('ack.renewed', `acknowledged again by ${change.by}: the ack timeout counts from now`, { by: change.by });
    } else if (change.type === 'resolve' && !resolved) {
      resolved = true;
      note('resolved', `resolved by ${change.by}`, { by: change.by });
      followUp('resolve');
    }
  });
  setHandler(escalationStateQuery, () => ({ ...state }));
  const stopped = () => acked || resolved;

  const send = (job: NotificationJob, timeline: TimelineEntry[] = []) => {
    // Failures are on record as attempts; the chain goes on whatever one channel does.
    const sent = deliver.sendNotification({ alertId: input.alertId, teamId: input.teamId, job, ...(timeline.length ? { timeline } : {}) }).catch(() => {
      // A send that gave up may not have written the entries it carried: they go again (once, by key).
      held.push(...timeline);
      note('notification.failed', `gave up on ${job.target}`, { key: job.key });
    });
    if (!timeline.length) return;
    carrying.add(timeline);
    void sent.finally(() => carrying.delete(timeline));
  };
  const page = (job: NotificationJob) => {
    if (!versioned) return send(job);
    queued.push(job);
    later();
  };

  /** One pass of the chain, repeated `repeat` times; stops as soon as the alert is acknowledged or resolved. */
  async function escalate(): Promise<'stopped' | 'exhausted'> {
    const policy = input.policy!;
    // Waits count from the chain's start, not from when the step before them finished: resolving
    // targets takes time, and that time must not push every later page back.
    let due = Date.now();
    for (let round = 0; round <= policy.repeat; round++) {
      state.round = round;
      if (round > 0) note('chain.repeat', `no acknowledgement: the chain starts again (${round} of ${policy.repeat})`, { round });
      for (const [i, step] of policy.steps.entries()) {
        if (stopped()) return 'stopped';
        state.step = i;
        if (step.type === 'wait') {
          due += step.seconds * 1000;
          note('wait', `waiting ${step.seconds} s for an acknowledgement`, { step: i, seconds: step.seconds, until: new Date(due).toISOString() });
          await condition(stopped, Math.max(1, due - Date.now()));
          continue;
        }
        const jobs = await targetsOf(step, i, round);
        if (jobs === 'stopped' || stopped()) {
          // An ack or resolve noted during the look-up: its entry goes now, with whatever waited.
          if (versioned) later();
          return 'stopped';
        }
        note('notify', jobs.length ? `notifying ${jobs.map((j) => j.target).join(', ')}` : 'nobody to notify at this step', { step: i, type: step.type, targets: jobs.map((j) => j.target) });
        for (const job of jobs) page(job);
      }
    }
    return stopped() ? 'stopped' : 'exhausted';
  }

  /**
   * Who a notify step pages. A look-up that still fails after its retries (PostgreSQL down longer than
   * they last) does not end the escalation: it is noted once and asked again every few seconds, on a
   * durable timer, until it answers or the alert is acknowledged or resolved.
   */
  async function targetsOf(step: EscalationStep, i: number, round: number): Promise<NotificationJob[] | 'stopped'> {
    // Escalations started before this replay with the activity (no marker in their history).
    const resolver = versioned || patched('escalation-local-targets') ? localTargets : targets;
    for (let failed = false; ; failed = true) {
      try {
        return await lookUp(resolver.resolveStepTargets({ alertId: input.alertId, teamId: input.teamId, step, keyPrefix: `${state.cycle}.${round}.${i}` }));
      } catch (err) {
        // The activity's own error, not Temporal's wrapper around it.
        const why = ((err as Error).cause as Error | undefined)?.message ?? (err as Error).message;
        if (!failed) note('targets.failed', `could not look up whom to notify at step ${i + 1} (${why}); asking again every ${TARGETS_AGAIN_MS / 1000} s`, { step: i });
        if (await condition(stopped, TARGETS_AGAIN_MS)) return 'stopped';
      }
    }
  }

  note('escalation.started', input.policy ? `escalating by policy ${input.policy.id} version ${input.policy.version}` : 'no escalation policy: nobody is paged', input.policy ? { policy: input.policy.id, version: input.policy.version } : undefined);
  while (!resolved) {
    if (input.policy && !acked) {
      state.phase = 'escalating';
      if ((await escalate()) === 'exhausted') {
        state.phase = 'exhausted';
        note('chain.exhausted', 'every step was tried; waiting for an acknowledgement or a resolve');
      }
    }
    await condition(() => acked || resolved);
    if (resolved) break;
    state.phase = 'acknowledged';
    const timeoutMs = (input.policy?.ackTimeoutSeconds ?? 0) * 1000;
    if (!input.policy) {
      await condition(() => resolved);
      break;
    }
    ackedAgainAt = null;
    let inTime = await condition(() => resolved, timeoutMs);
    // An ack again during the period (or in the activation that ends it) starts a new one from that ack.
    while (!inTime && ackedAgainAt !== null && ackedAgainAt + timeoutMs > Date.now()) {
      const ends: number = ackedAgainAt + timeoutMs;
      ackedAgainAt = null;
      inTime = await condition(() => resolved, ends - Date.now());
    }
    if (inTime) break;
    // Acknowledged but not resolved in time: page again, from the first step.
    acked = false;
    state.cycle++;
    note('ack.timeout', `not resolved within ${input.policy.ackTimeoutSeconds} s of the acknowledgement: escalating again`, { cycle: state.cycle }, true);
  }
  state.phase = 'resolved';
  // A resolve does not wait for a failing channel's retries; what their sends carry is written here.
  if (carrying.size) {
    for (const timeline of carrying) held.push(...timeline);
    pending.push(flush());
  }
  await Promise.allSettled(pending);
  return { outcome: 'resolved', cycles: state.cycle + 1 };
}
