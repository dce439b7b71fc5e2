import { describe, expect, it } from '@jest/globals';
import { Client, Connection } from '@temporalio/client';
import { until } from '../fixtures/until.ts';
import { startSlackWebhookPeer } from '../peers/slack.ts';
import { startWebhookReceiver } from '../peers/webhook-receiver.ts';
import { stopProcess } from '../peers/processes.ts';
import { alerting } from './alerting.ts';
import { useFaultStack } from './stack.ts';

// A worker killed with SIGKILL while an escalation waits: the timer lives in Temporal, so the next
// notification is still sent on time by the other worker — and only once, on the signed webhook and
// on a Slack incoming webhook alike. The wait is longer than
// Temporal's sticky-poller window (10 s): a workflow task due sooner after the kill would first go to
// the dead worker's sticky queue and reach the other worker only after its schedule-to-start timeout.
const stack = useFaultStack();
const WAIT_S = 14;

/** The pid of the worker that last ran the escalation's workflow task (identity `pid@host`). */
async function stickyWorkerPid(namespace: string, workflowId: string): Promise<number> {
  const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  try {
    const history = await new Client({ connection, namespace }).workflow.getHandle(workflowId).fetchHistory();
    const completed = (history.events ?? []).filter((e) => e.workflowTaskCompletedEventAttributes).pop();
    return Number(completed!.workflowTaskCompletedEventAttributes!.identity!.split('@')[0]);
  } finally {
    await connection.close();
  }
}

describe('alert escalation survives kill -9 of its worker during a wait', () => {
  it('the next notification is sent on schedule (goal 1 s, CI bound 2 s) and exactly once', async () => {
    const s = stack();
    const secret = `secret-${crypto.randomUUID()}`;
    const hook = await startWebhookReceiver(secret);
    const slack = await startSlackWebhookPeer();
    const slackHook = slack.create('#ops');
    try {
      const { create, fire } = await alerting(s);
      const webhook = await create('/api/v1/integrations', { team: s.team.slug, type: 'webhook', name: 'pager', settings: { url: hook.url }, secrets: { signingSecret: secret } });
      const slackChannel = await create('/api/v1/integrations', { team: s.team.slug, type: 'slack-webhook', name: 'ops-slack', settings: {}, secrets: { webhookUrl: slackHook.url } });
      const both = [{ type: 'notify_channel', integration: webhook }, { type: 'notify_channel', integration: slackChannel }];
      const policy = await create('/api/v1/escalation-policies', { team: s.team.slug, name: 'chain', steps: [...both, { type: 'wait', seconds: WAIT_S }, ...both] });

      const workers = [await s.worker('host-a'), await s.worker('host-b')];
      const alertId = await fire(policy, { dedupKey: 'db-down', summary: 'database down' });

      await until('the first pages', async () => hook.deliveries[0] && slack.posts[0], 60_000);
      const pid = await stickyWorkerPid(s.env.TEMPORAL_NAMESPACE!, `alert-${alertId}`);
      const victim = workers.find((w) => w.child.pid === pid)!;
      expect(victim).toBeDefined();
      await stopProcess(victim.child, 'SIGKILL');
      const second = await until('the second page', async () => hook.deliveries[1], 60_000);
      // The schedule is the wait's deadline, as the workflow recorded it (counted from the chain's start).
      const [wait] = await s.query<{ until: string }>(`select data->>'until' as until from alert_events where alert_id = $1 and type = 'wait'`, [alertId]);
      const lateness = second.at - Date.parse(wait!.until);
      expect(lateness).toBeGreaterThanOrEqual(0);
      // The goal is 1 s (issue 12): 0.6 s on a quiet machine, 1.05 s once and 2.1 s once with CI running
      // other suites beside it on two cores, so this file now runs alone with the timing files. The bound
      // is what CI can hold without flapping; the lateness is printed.
      console.log(`second page ${lateness} ms after its deadline, the worker holding the alert killed`);
      expect(lateness).toBeLessThan(2000);
      // Nothing more: two deliveries, one per notification, each recorded once as sent.
      await new Promise((r) => setTimeout(r, 2000));
      await until('the second Slack post', async () => slack.posts[1], 30_000);
      expect(hook.deliveries.map((d) => d.body.notification)).toEqual(['0.0.0.0', '0.0.3.0']);
      expect(slack.posts.map((p) => p.text)).toEqual(['[ERROR] database down', '[ERROR] database down']);
      const sent = await s.query<{ key: string; n: string }>(`select key, count(*) as n from notification_attempts where alert_id = $1 and status = 'sent' group by key order by key`, [alertId]);
      expect(sent).toEqual([{ key: '0.0.0.0', n: '1' }, { key: '0.0.1.0', n: '1' }, { key: '0.0.3.0', n: '1' }, { key: '0.0.4.0', n: '1' }]);
      console.log(`alert worker kill -9: second page ${lateness} ms after its schedule`);
    } finally {
      await hook.close();
      await slack.close();
    }
  }, 240_000);
});
