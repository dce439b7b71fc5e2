import { describe, expect, it } from '@jest/globals';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { WorkflowOptions } from '@temporalio/client';
import { ESCALATION_VERSION, alertChangeSignal, escalationStateQuery, type EscalationActivities, type EscalationInput, type NotificationJob, type TimelineEntry } from '../../contracts/alerts/escalation.ts';
import type { EscalationStep } from '../../contracts/alerts/index.ts';
import { until } from '../fixtures/until.ts';
import { useWorkflowWorker } from '../fixtures/workflow-env.ts';
import { HISTORIES_DIR, historyToPlainJson } from './record-histories.ts';

// The escalation workflow's clock and decisions on the Temporal dev server, activities replaced by a
// script that records when each notification was asked for. No time skipping is available here
// (ENVIRONMENT.md), so the chain uses 1-second waits and the assertions allow scheduling slack.
type Sent = { key: string; target: string; at: number; abs: number; attempt: number };
type Script = { started: number; sent: Sent[]; timeline: Array<{ type: string; reopen?: boolean }>; untils: number[]; failTargets: Set<string>; followUps: string[] };
const scripts = new Map<string, Script>();
// The goal is 1 s (issue 12). Once, with CI running two suites at once on two cores, the dev server's
// timer, workflow task and activity dispatch took 1.17 s; this file now runs alone (scripts/test.sh runs
// *.timing.test.ts one at a time), and the bound keeps that margin. The worst lateness is printed.
const SLACK_MS = 2_000;

const record = (alertId: string, entry: TimelineEntry) => {
  const s = scripts.get(alertId)!;
  s.timeline.push({ type: entry.type, ...(entry.reopen ? { reopen: true } : {}) });
  if (entry.type === 'wait') s.untils.push(Date.parse(String(entry.data!.until)));
};
/** How many entries each send carried (a task's entries ride with its first send). */
const carried: number[] = [];
/** The entries each send carried (by alert and target), and every batch recorded on its own, in order. */
const carriedBy = new Map<string, TimelineEntry[]>();
/** An alert whose target look-up waits until the test lets it go. */
const lookUpGates = new Map<string, { entered: () => void; released: Promise<void> }>();
/** An alert whose target look-ups fail this many more times, for good (past their retries, as in a long PostgreSQL outage). */
const lookUpFailures = new Map<string, number>();
const batches: TimelineEntry[][] = [];

const activities: EscalationActivities = {
  async recordAlertTimeline({ alertId, ...entry }) {
    record(alertId, entry);
  },
  async recordAlertTimelineEntries({ alertId, entries }) {
    batches.push(entries);
    for (const entry of entries) record(alertId, entry);
  },
  async resolveStepTargets({ alertId, step, keyPrefix }): Promise<NotificationJob[]> {
    const failures = lookUpFailures.get(alertId) ?? 0;
    if (failures > 0) {
      lookUpFailures.set(alertId, failures - 1);
      throw ApplicationFailure.nonRetryable('database unavailable', 'Outage');
    }
    const gate = lookUpGates.get(alertId);
    if (gate) {
      gate.entered();
      await gate.released;
    }
    const targets = step.type === 'notify_users' ? ['alice', 'bob'] : step.type === 'notify_channel' ? [`channel-${step.integration.slice(0, 4)}`] : ['oncall'];
    return targets.map((target, n) => ({ key: `${keyPrefix}.${n}`, integrationId: crypto.randomUUID(), target }));
  },
  async sendNotification({ alertId, job, timeline }) {
    const s = scripts.get(alertId)!;
    const attempt = Context.current().info.attempt;
    if (timeline && attempt === 1) {
      carried.push(timeline.length);
      carriedBy.set(`${alertId}/${job.target}`, timeline);
      for (const entry of timeline) record(alertId, entry);
    }
    s.sent.push({ key: job.key, target: job.target, at: Date.now() - s.started, abs: Date.now(), attempt });
    if (s.failTargets.has(job.target)) throw new Error('channel down');
    return { status: 'sent', providerId: `p-${job.key}` };
  },
  async followUpPagerDuty({ alertId, action, cycle }) {
    scripts.get(alertId)!.followUps.push(`${action}@${cycle}`);
    return 0;
  },
};

const workflows = useWorkflowWorker('escalation-test', activities);
const taskQueue = workflows.taskQueue;


const CHANNEL = 'cccc0000-0000-4000-8000-000000000000';
const chain: EscalationStep[] = [
  { type: 'notify_users', users: [crypto.randomUUID()], via: crypto.randomUUID() },
  { type: 'wait', seconds: 1 },
  { type: 'notify_channel', integration: CHANNEL },
  { type: 'wait', seconds: 1 },
];

async function start(policy: Partial<NonNullable<EscalationInput['policy']>> | null, failTargets: string[] = [], alertId: string = crypto.randomUUID(), options: Pick<WorkflowOptions, 'workflowTaskTimeout'> = {}) {
  const s: Script = { started: Date.now(), sent: [], timeline: [], untils: [], failTargets: new Set(failTargets), followUps: [] };
  scripts.set(alertId, s);
  const input: EscalationInput = { alertId, teamId: crypto.randomUUID(), version: ESCALATION_VERSION, policy: policy && { id: crypto.randomUUID(), version: 3, steps: chain, repeat: 0, ackTimeoutSeconds: 60, ...policy } };
  const handle = await workflows.env.client.workflow.start('alertEscalation', { taskQueue, workflowId: `alert-${alertId}`, args: [input], ...options });
  return { handle, s };
}
// A step's sends go out together, in no set order: sorted by key (cycle.round.step.n), which the steps' times order.
const keysOf = (s: Script) => s.sent.filter((x) => x.attempt === 1).map((x) => `${x.key}@${x.target}`).sort();
const firstAt = (s: Script, key: string) => s.sent.find((x) => x.key === key)!.at;

describe('alertEscalation workflow', () => {
  it('runs the chain on its clock: notify, wait 1 s, notify the channel, wait, then the whole chain again', async () => {
    batches.length = 0;
    carried.length = 0;
    const { handle, s } = await start({ repeat: 1 });
    await until('the chain to end', async () => (s.timeline.some((e) => e.type === 'chain.exhausted') ? true : undefined), 20_000);
    // A step's entry and the wait's after it rode with the step's first send, and so did the chain's
    // start and its repeat (made before the step's targets were looked up); only the end, which sends
    // nothing, went alone.
    expect(carried).toEqual([3, 2, 3, 2]);
    expect(batches.map((b) => b.length)).toEqual([1]);
    expect(keysOf(s)).toEqual(['0.0.0.0@alice', '0.0.0.1@bob', '0.0.2.0@channel-cccc', '0.1.0.0@alice', '0.1.0.1@bob', '0.1.2.0@channel-cccc']);
    // The waits' deadlines are 1 s apart, counted from the chain's start (not from when a step ended),
    // and each notify step after a wait is sent once its deadline has passed, never before.
    expect(s.untils.slice(1).map((u, i) => u - s.untils[i]!)).toEqual([1000, 1000, 1000]);
    const late = [['0.0.2.0', 0], ['0.1.0.0', 1], ['0.1.2.0', 2]].map(([key, wait]) => s.sent.find((x) => x.key === key)!.abs - s.untils[wait as number]!);
    console.log(`escalation: worst lateness after a wait ${Math.max(...late)} ms (goal 1,000)`);
    for (const lateness of late) {
      expect(lateness).toBeGreaterThanOrEqual(0);
      expect(lateness).toBeLessThan(SLACK_MS);
    }
    expect(s.timeline.map((e) => e.type)).toEqual(['escalation.started', 'notify', 'wait', 'notify', 'wait', 'chain.repeat', 'notify', 'wait', 'notify', 'wait', 'chain.exhausted']);
    await handle.signal(alertChangeSignal, { type: 'resolve', by: 'source' });
    expect(await handle.result()).toEqual({ outcome: 'resolved', cycles: 1 });
    if (process.env.RECORD_HISTORIES === '1') {
      await writeFile(path.join(HISTORIES_DIR, 'alert-escalation-chain-with-sends.json'), `${JSON.stringify(historyToPlainJson(await handle.fetchHistory()), null, 1)}\n`);
    }
  });

  it('an acknowledgement during a wait stops the chain at once: nothing more is sent, ever', async () => {
    const { handle, s } = await start({ repeat: 3 });
    await until('the first notification', async () => (s.sent.length >= 2 ? true : undefined), 10_000);
    await handle.signal(alertChangeSignal, { type: 'ack', by: 'alice@example.test' });
    expect((await handle.query(escalationStateQuery)).phase).toBe('acknowledged');
    // The channel step was due at 1 s and the chain had 3 more rounds: wait past all of that.
    await new Promise((r) => setTimeout(r, 2500));
    expect(keysOf(s)).toEqual(['0.0.0.0@alice', '0.0.0.1@bob']);
    expect(s.timeline.map((e) => e.type)).toEqual(['escalation.started', 'notify', 'wait', 'acknowledged']);
    await handle.signal(alertChangeSignal, { type: 'resolve', by: 'alice@example.test' });
    await handle.result();
    expect(keysOf(s)).toHaveLength(2);
  });

  it('an acknowledgement during the first look-up: nobody is paged and its entry is on record at once', async () => {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inLookUp = new Promise<void>((r) => (entered = r));
    const alertId = crypto.randomUUID();
    lookUpGates.set(alertId, { entered, released });
    // A look-up longer than most of the workflow task's timeout makes the SDK end the task and go on in
    // the next one, which delivers the ack while the look-up still runs.
    const { handle, s } = await start({ repeat: 0 }, [], alertId, { workflowTaskTimeout: '1 second' });
    await inLookUp;
    await handle.signal(alertChangeSignal, { type: 'ack', by: 'carol@example.test' });
    await until('the ack handed to the workflow', async () => {
      const events = (await handle.fetchHistory()).events ?? [];
      const signalled = events.findIndex((e) => e.workflowExecutionSignaledEventAttributes);
      return signalled >= 0 && events.slice(signalled).some((e) => e.workflowTaskCompletedEventAttributes) ? true : undefined;
    }, 10_000);
    release();
    // The start and the ack waited for the look-up's sends; there are none, so they go on their own now.
    await until('the acknowledgement on record', async () => (s.timeline.some((e) => e.type === 'acknowledged') ? true : undefined), 10_000);
    expect(s.timeline.map((e) => e.type)).toEqual(['escalation.started', 'acknowledged']);
    expect(s.sent).toEqual([]);
    await handle.signal(alertChangeSignal, { type: 'resolve', by: 'carol@example.test' });
    await handle.result();
  });

  it('an acknowledged alert not resolved within the ack timeout escalates again, as a new cycle', async () => {
    const { handle, s } = await start({ steps: [chain[0]!], ackTimeoutSeconds: 1 });
    await until('the first notification', async () => (s.sent.length >= 2 ? true : undefined), 10_000);
    await handle.signal(alertChangeSignal, { type: 'ack', by: 'bob@example.test' });
    await until('the second cycle', async () => (s.sent.filter((x) => x.key.startsWith('1.')).length >= 2 ? true : undefined), 10_000);
    expect(keysOf(s)).toEqual(['0.0.0.0@alice', '0.0.0.1@bob', '1.0.0.0@alice', '1.0.0.1@bob']);
    expect(s.timeline).toContainEqual({ type: 'ack.timeout', reopen: true });
    // Every send of the new cycle carries the reopen (a real send pages only a firing alert, and reads it after writing what it carries).
    const alertId = handle.workflowId.slice('alert-'.length);
    for (const target of ['alice', 'bob']) expect(carriedBy.get(`${alertId}/${target}`)).toContainEqual(expect.objectContaining({ type: 'ack.timeout', reopen: true }));
    await handle.signal(alertChangeSignal, { type: 'resolve', by: 'bob@example.test' });
    expect(await handle.result()).toEqual({ outcome: 'resolved', cycles: 2 });
    // PagerDuty incidents follow each decision, the first acknowledge named by its cycle.
    expect(s.followUps).toEqual(['acknowledge@0', 'resolve@1']);
  });

  it('a target look-up that gave up its retries is asked again on a timer: the escalation pages late, not never', async () => {
    const alertId = crypto.randomUUID();
    lookUpFailures.set(alertId, 2);
    const { handle, s } = await start({ steps: [chain[0]!] }, [], alertId);
    await until('the page after the look-up answered', async () => (s.sent.length >= 2 ? true : undefined), 30_000);
    expect(keysOf(s)).toEqual(['0.0.0.0@alice', '0.0.0.1@bob']);
    // Noted once, however many times it was asked again; two failures, two waits of 5 s.
    expect(s.timeline.filter((e) => e.type === 'targets.failed')).toHaveLength(1);
    expect(firstAt(s, '0.0.0.0')).toBeGreaterThanOrEqual(10_000);
    await handle.signal(alertChangeSignal, { type: 'resolve', by: 'source' });
    expect(await handle.result()).toEqual({ outcome: 'resolved', cycles: 1 });
  });

  it('a failing channel is retried with backoff while the chain goes on without it', async () => {
    const { handle, s } = await start({ steps: [{ type: 'notify_channel', integration: CHANNEL }, chain[1]!, chain[0]!] }, ['channel-cccc']);
    await until('the channel retried twice', async () => (s.sent.filter((x) => x.target === 'channel-cccc').length >= 3 ? true : undefined), 15_000);
    const channel = s.sent.filter((x) => x.target === 'channel-cccc');
    expect(channel.map((x) => x.attempt)).toEqual([1, 2, 3]);
    // Backoff: 1 s, then 2 s.
    expect(channel[2]!.at - channel[1]!.at).toBeGreaterThan(channel[1]!.at - channel[0]!.at + 500);
    // The people step after the wait went out on time although the channel was still failing.
    expect(firstAt(s, '0.0.2.0') - channel[0]!.at).toBeLessThan(1000 + SLACK_MS);
    await handle.signal(alertChangeSignal, { type: 'resolve', by: 'source' });
    await handle.result();
    // The resolve did not wait for the channel's retries; the entries its send carries were written on
    // their own before the workflow ended (a real send that never got through would not have written them).
    const stillCarried = carriedBy.get(`${handle.workflowId.slice('alert-'.length)}/channel-cccc`)!.map((e) => e.key);
    expect(stillCarried).toHaveLength(3);
    expect(batches.some((b) => stillCarried.every((key) => b.some((e) => e.key === key)))).toBe(true);
  });

  it('counts repeats from the source; with no policy nobody is paged until it is resolved', async () => {
    const { handle, s } = await start(null);
    for (let i = 0; i < 3; i++) await handle.signal(alertChangeSignal, { type: 'repeat' });
    expect((await handle.query(escalationStateQuery)).repeats).toBe(3);
    await handle.signal(alertChangeSignal, { type: 'resolve', by: 'source' });
    await handle.result();
    expect(s.sent).toEqual([]);
    expect(s.timeline.map((e) => e.type)).toEqual(['escalation.started', 'resolved']);
  });
});
