import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { ESCALATION_VERSION, alertChangeSignal, type EscalationActivities, type EscalationInput, type TimelineEntry } from '../../contracts/alerts/escalation.ts';
import { until } from '../fixtures/until.ts';
import { answeringRetries } from '../fixtures/workflow-env.ts';
import { quietTemporalRuntime, workflowBundle } from '../peers/worker.ts';
import { HISTORIES_DIR, historyToPlainJson } from './record-histories.ts';

// An ack of an acknowledged alert that reaches the escalation in the same activation as its ack
// timeout's timer. The race is made certain, not hoped for: the worker is stopped while the timer
// fires and the ack arrives, so the next worker gets both in one workflow task.
const sent: Array<{ key: string; at: number }> = [];
const timeline: TimelineEntry[] = [];
const activities: EscalationActivities = {
  async recordAlertTimeline({ alertId: _, ...entry }) {
    timeline.push(entry);
  },
  async recordAlertTimelineEntries({ entries }) {
    timeline.push(...entries);
  },
  async resolveStepTargets({ keyPrefix }) {
    return [{ key: `${keyPrefix}.0`, integrationId: crypto.randomUUID(), target: 'alice' }];
  },
  async sendNotification({ job, timeline: carried }) {
    // A key's first delivery carries its task's entries (a retry carries them again: written once by key).
    for (const entry of carried ?? []) if (!timeline.some((e) => e.key === entry.key)) timeline.push(entry);
    sent.push({ key: job.key, at: Date.now() });
    return { status: 'sent', providerId: null };
  },
  async followUpPagerDuty() {
    return 0;
  },
};

const taskQueue = `escalation-ack-again-${crypto.randomUUID()}`;
let env: TestWorkflowEnvironment;
beforeAll(async () => {
  quietTemporalRuntime();
  env = await TestWorkflowEnvironment.createFromExistingServer({ address: process.env.TEMPORAL_ADDRESS! });
});
afterAll(async () => {
  await env?.teardown();
});

async function startWorker() {
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: await workflowBundle(), activities: answeringRetries(activities) });
  const running = worker.run();
  return async () => {
    worker.shutdown();
    await running;
  };
}

it('an ack that lands with the ack timeout starts a new ack period instead of reopening and paging again', async () => {
  const ACK_TIMEOUT_S = 2;
  const alertId = crypto.randomUUID();
  const input: EscalationInput = { alertId, teamId: crypto.randomUUID(), version: ESCALATION_VERSION, policy: { id: crypto.randomUUID(), version: 1, steps: [{ type: 'notify_users', users: [crypto.randomUUID()], via: crypto.randomUUID() }], repeat: 0, ackTimeoutSeconds: ACK_TIMEOUT_S } };
  let stop = await startWorker();
  try {
    const handle = await env.client.workflow.start('alertEscalation', { taskQueue, workflowId: `alert-${alertId}`, args: [input] });
    await until('the first page', async () => (sent.length ? true : undefined), 10_000);
    await handle.signal(alertChangeSignal, { type: 'ack', by: 'alice@example.test' });
    const events = async () => (await handle.fetchHistory()).events ?? [];
    const ackTimer = await until('the ack timeout timer', async () => {
      const all = await events();
      const acked = all.findIndex((e) => e.workflowExecutionSignaledEventAttributes);
      return all.slice(acked + 1).find((e) => e.timerStartedEventAttributes)?.timerStartedEventAttributes?.timerId ?? undefined;
    }, 10_000);
    await stop();
    await until('the ack timeout to fire', async () => ((await events()).some((e) => e.timerFiredEventAttributes?.timerId === ackTimer) ? true : undefined), 10_000);
    const againAt = Date.now();
    await handle.signal(alertChangeSignal, { type: 'ack', by: 'alice@example.test' });
    stop = await startWorker();

    // The timer and the second ack went to the workflow in one task (what the test is about).
    const all = await until('the timer and the ack taken', async () => {
      const h = await events();
      const fired = h.findIndex((e) => e.timerFiredEventAttributes?.timerId === ackTimer);
      const signalled = h.findLastIndex((e) => e.workflowExecutionSignaledEventAttributes);
      return h.slice(signalled).some((e) => e.workflowTaskCompletedEventAttributes) ? { h, fired, signalled } : undefined;
    }, 30_000);
    expect(all.h.slice(all.fired, all.signalled).some((e) => e.workflowTaskStartedEventAttributes)).toBe(false);

    // Not resolved within the new period either: then (and only then) it escalates again.
    // Its page and the timeline entry after it are separate activities: wait for the last of them.
    await until('the next cycle to run its chain', async () => (sent.some((x) => x.key.startsWith('1.')) && timeline.filter((e) => e.type === 'chain.exhausted').length === 2 ? true : undefined), 30_000);
    const types = timeline.map((e) => e.type);
    expect(types).toEqual(['escalation.started', 'notify', 'chain.exhausted', 'acknowledged', 'ack.renewed', 'ack.timeout', 'notify', 'chain.exhausted']);
    expect(sent.find((x) => x.key.startsWith('1.'))!.at).toBeGreaterThanOrEqual(againAt + ACK_TIMEOUT_S * 1000);
    await handle.signal(alertChangeSignal, { type: 'resolve', by: 'alice@example.test' });
    expect(await handle.result()).toEqual({ outcome: 'resolved', cycles: 2 });
    if (process.env.RECORD_HISTORIES === '1') {
      await writeFile(path.join(HISTORIES_DIR, 'alert-escalation-ack-again.json'), `${JSON.stringify(historyToPlainJson(await handle.fetchHistory()), null, 1)}\n`);
    }
  } finally {
    await stop();
  }
});
