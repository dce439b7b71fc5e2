import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createNotifyActivities } from '../../activities/notify/index.ts';
import { startEscalation } from '../../core/alerts/escalation-start.ts';
import { escalationWorkflowId } from '../../contracts/alerts/escalation.ts';
import type { PolicySnapshot } from '../../contracts/alerts/index.ts';
import { AlertSchema, TeamSchema } from '../../db/entities/index.ts';
import { client } from '../fixtures/http.ts';
import { useNotificationStack } from '../fixtures/notifications.ts';
import { until } from '../fixtures/until.ts';
import { startApiProcess } from '../peers/api-process.ts';
import { startWebhookReceiver } from '../peers/webhook-receiver.ts';

// The API answers a source once the alert row commits and starts the escalation after the answer
// (core/alerts/escalation-start.ts). What a crash between the two leaves behind is a row still marked
// queued; the first two tests make that state directly, the last kills a real API process in a storm,
// and each checks what the user would lose: the page, or an ack or resolve that arrives before the start.
const s = useNotificationStack('escalation-outbox');
const secret = `secret-${crypto.randomUUID()}`;
let hook: Awaited<ReturnType<typeof startWebhookReceiver>>;
let policy: PolicySnapshot;

beforeAll(async () => {
  hook = await startWebhookReceiver(secret);
  const webhook = await s.admin.post('/api/v1/integrations', { team: s.team.slug, type: 'webhook', name: 'pager', settings: { url: hook.url }, secrets: { signingSecret: secret } });
  expect(webhook.status).toBe(201);
  const steps = [{ type: 'notify_channel', integration: webhook.body.id }, { type: 'wait', seconds: 600 }];
  const created = await s.admin.post('/api/v1/escalation-policies', { team: s.team.slug, name: 'chain', steps });
  expect(created.status).toBe(201);
  policy = { id: created.body.id, version: created.body.version, steps: created.body.steps, repeat: created.body.repeat, ackTimeoutSeconds: created.body.ackTimeoutSeconds };
});
afterAll(async () => hook?.close());

/** An opened alert whose escalation start was lost: committed `queuedAgoMs` ago, no workflow. */
async function lostStart(queuedAgoMs: number): Promise<string> {
  const em = s.api.deps.db.em.fork();
  const now = new Date();
  const alert = em.create(AlertSchema, {
    id: crypto.randomUUID(), team: em.getReference(TeamSchema, s.team.id), source: null, dedupKey: `lost-${crypto.randomUUID()}`, status: 'firing', severity: 'critical',
    summary: 'disk full', details: {}, labels: {}, count: 1, policyId: policy.id, policyVersion: policy.version, policySnapshot: policy, firstSeenAt: now, lastSeenAt: now,
    acknowledgedAt: null, acknowledgedBy: null, resolvedAt: null, resolvedBy: null, escalationQueuedAt: new Date(Date.now() - queuedAgoMs),
  });
  await em.flush();
  return alert.id;
}

const queuedAt = async (id: string) => (await s.api.deps.db.em.fork().findOneOrFail(AlertSchema, { id })).escalationQueuedAt;
const pagesOf = (id: string) => hook.deliveries.filter((d) => (d.body.alert as { id: string }).id === id);

/** The notify worker's activities, as a worker builds them from the stack's own parts. */
const notifyActivities = () => {
  const { db, keyring, config, logger, redis, keys } = s.api.deps;
  return createNotifyActivities({ em: db.em, keyring, config, logger, redis, keys });
};
const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
/** Where an activity of alert `id`'s escalation (run `run-1`) runs: its id and attempt, as Temporal gives them. */
const activityEnv = (id: string, activityId: string, attempt: number) =>
  new MockActivityEnvironment({ activityId, attempt, workflowExecution: { workflowId: escalationWorkflowId(id), runId: 'run-1' } }, { logger: quiet });

describe('escalation starts queued with the alert row', () => {
  it('a start lost to a crash is made by the sweep, and the page goes out once', async () => {
    const id = await lostStart(60_000);
    // What the API's timer does every ALERT_ESCALATION_SWEEP_SECONDS (off in tests: see global-setup).
    expect(await s.api.deps.escalations.sweep()).toBeGreaterThanOrEqual(1);
    await until('the lost escalation to page', async () => pagesOf(id)[0], 30_000);
    expect(await queuedAt(id)).toBeNull();
    expect(await s.api.deps.escalations.sweep()).toBe(0);
    const history = await s.api.deps.temporal.workflow.getHandle(escalationWorkflowId(id)).fetchHistory();
    expect(history.events!.filter((e) => e.workflowExecutionStartedEventAttributes)).toHaveLength(1);
    expect(pagesOf(id)).toHaveLength(1);
  });

  it('an acknowledgement that arrives before the start is not lost: the escalation starts acknowledged and pages nobody', async () => {
    // Queued a moment ago: inside the sweep's grace period, as a start still in flight would be.
    const id = await lostStart(0);
    const ack = await s.admin.post(`/api/v1/alerts/${id}/ack`, {});
    expect(ack.status).toBe(200);
    expect(await queuedAt(id)).toBeNull();
    const handle = s.api.deps.temporal.workflow.getHandle(escalationWorkflowId(id));
    const state = await until('the escalation to report it left the chain', async () => {
      const q = await handle.query<{ phase: string }>('escalationState').catch(() => undefined);
      return q?.phase === 'acknowledged' ? q : undefined;
    }, 30_000);
    expect(state.phase).toBe('acknowledged');
    const resolved = await s.admin.post(`/api/v1/alerts/${id}/resolve`, {});
    expect(resolved.status).toBe(200);
    await expect(handle.result()).resolves.toMatchObject({ outcome: 'resolved' });
    expect(pagesOf(id)).toHaveLength(0);
  });

  it('an ack or resolve committed but never told to the escalation (its API process died) is told by the sweep', async () => {
    const id = await lostStart(0);
    await startEscalation({ temporal: s.api.deps.temporal }, s.api.deps.db.em, { alertId: id, teamId: s.team.id, policy }, (await queuedAt(id))!);
    await until('the page', async () => pagesOf(id)[0], 30_000);
    const handle = s.api.deps.temporal.workflow.getHandle(escalationWorkflowId(id));
    const phase = async () => (await handle.query<{ phase: string }>('escalationState')).phase;
    // What the deciding transaction committed before its process died: the row decided, the decision owed.
    const owed = (fields: Record<string, unknown>) =>
      s.api.deps.db.em.fork().nativeUpdate(AlertSchema, { id }, { ...fields, escalationQueuedAt: new Date(Date.now() - 60_000) });
    await owed({ status: 'acknowledged', acknowledgedAt: new Date(), acknowledgedBy: 'ops@example.com' });
    expect(await phase()).toBe('escalating');
    expect(await s.api.deps.escalations.sweep()).toBeGreaterThanOrEqual(1);
    await until('the escalation to take the ack', async () => ((await phase()) === 'acknowledged' ? true : undefined), 30_000);
    expect(await queuedAt(id)).toBeNull();
    await owed({ status: 'resolved', resolvedAt: new Date(), resolvedBy: 'ops@example.com' });
    expect(await s.api.deps.escalations.sweep()).toBeGreaterThanOrEqual(1);
    await expect(handle.result()).resolves.toMatchObject({ outcome: 'resolved' });
    expect(await queuedAt(id)).toBeNull();
    expect(pagesOf(id)).toHaveLength(1);
  });

  it("the sweep's start clears only the mark it read: an ack marked meanwhile by a process that died before telling stays owed", async () => {
    const id = await lostStart(60_000);
    const acked = new Date();
    let swept: Promise<number> | undefined;
    // The other process's deciding transaction, committed only once the sweep (which read the row
    // before it) is clearing its mark: that UPDATE waits for this row's lock, then sees the ack's mark.
    await s.api.deps.db.em.fork().transactional(async (tx) => {
      await tx.nativeUpdate(AlertSchema, { id }, { status: 'acknowledged', acknowledgedAt: acked, acknowledgedBy: 'ops@example.com', escalationQueuedAt: acked });
      swept = s.api.deps.escalations.sweep();
      await until('the sweep to clear marks behind the ack', async () => {
        const waiting = await s.api.deps.db.em.getConnection().execute(`select 1 from pg_stat_activity where wait_event_type = 'Lock' and query like 'update alerts a set escalation_queued_at = null%'`);
        return waiting.length ? true : undefined;
      }, 30_000);
    });
    expect(await swept).toBeGreaterThanOrEqual(1);
    // Still owed: a later sweep tells the escalation of the ack.
    expect(await queuedAt(id)).toEqual(acked);
    expect((await s.admin.post(`/api/v1/alerts/${id}/resolve`, {})).status).toBe(200);
    await expect(s.api.deps.temporal.workflow.getHandle(escalationWorkflowId(id)).result()).resolves.toMatchObject({ outcome: 'resolved' });
  });

  it('a start that comes after the resolve ended the escalation starts nothing: neither a late start nor the sweep', async () => {
    const id = await lostStart(0);
    const opened = (await queuedAt(id))!;
    expect((await s.admin.post(`/api/v1/alerts/${id}/resolve`, {})).status).toBe(200);
    const handle = s.api.deps.temporal.workflow.getHandle(escalationWorkflowId(id));
    await expect(handle.result()).resolves.toMatchObject({ outcome: 'resolved' });
    const ended = await handle.describe();
    // The start the API queued with the row, made after the resolve's signal-with-start (its process was slow, say).
    const input = { alertId: id, teamId: s.team.id, policy };
    await startEscalation({ temporal: s.api.deps.temporal }, s.api.deps.db.em, input, opened);
    // A mark left on the resolved row (its process died before clearing it) is cleared by the sweep, which starts nothing.
    await s.api.deps.db.em.fork().nativeUpdate(AlertSchema, { id }, { escalationQueuedAt: new Date(Date.now() - 60_000) });
    await s.api.deps.escalations.sweep();
    expect(await queuedAt(id)).toBeNull();
    const now = await s.api.deps.temporal.workflow.getHandle(escalationWorkflowId(id)).describe();
    expect({ runId: now.runId, status: now.status.name }).toEqual({ runId: ended.runId, status: 'COMPLETED' });
    expect(pagesOf(id)).toHaveLength(0);
  });

  it('a timeline batch retried after its first attempt committed (its worker killed before reporting) is written once', async () => {
    const id = await lostStart(0);
    // Not a lost start: the storm test below sweeps, and this alert is only a place for a timeline.
    await s.api.deps.db.em.fork().nativeUpdate(AlertSchema, { id }, { escalationQueuedAt: null });
    const activities = notifyActivities();
    const run = (activityId: string, attempt: number, entries: { type: string; message: string; at: string }[]) => activityEnv(id, activityId, attempt).run(activities.recordAlertTimelineEntries, { alertId: id, entries });
    const at = new Date().toISOString();
    const step = [{ type: 'notify', message: 'notifying pager', at }, { type: 'wait', message: 'waiting 600 s for an acknowledgement', at }];
    await run('7', 1, step);
    // What Temporal does when the worker that ran attempt 1 died after the commit: the same activity again.
    await run('7', 2, step);
    // A later activity of the same run, on its second attempt with nothing written, is not taken for that retry.
    await run('8', 2, [{ type: 'notify', message: 'notifying pager again', at }]);
    const timeline = (await s.admin.get(`/api/v1/alerts/${id}`)).body.timeline as { type: string; message: string }[];
    expect(timeline.map((e) => e.message)).toEqual(['notifying pager', 'waiting 600 s for an acknowledgement', 'notifying pager again']);
  });

  it("a send carrying its step's timeline writes it before the page, once across its retry and the workflow's fallback", async () => {
    const id = await lostStart(0);
    await s.api.deps.db.em.fork().nativeUpdate(AlertSchema, { id }, { escalationQueuedAt: null });
    const activities = notifyActivities();
    const env = (activityId: string, attempt: number) => activityEnv(id, activityId, attempt);
    const at = new Date().toISOString();
    // Keyed by the workflow (run and position), as the escalation keys them.
    const timeline = [{ type: 'notify', message: 'notifying pager', at, key: 'run-1:1' }, { type: 'wait', message: 'waiting 600 s for an acknowledgement', at, key: 'run-1:2' }];
    const job = { key: '0.0.0.0', integrationId: (policy.steps[0] as { integration: string }).integration, target: 'pager' };
    const timelineOf = async () => ((await s.admin.get(`/api/v1/alerts/${id}`)).body.timeline as { message: string }[]).map((e) => e.message);
    let onRecordAtPage: string[] | undefined;
    hook.control.beforeAnswer = async (delivery) => {
      if ((delivery.body.alert as { id: string }).id === id) onRecordAtPage ??= await timelineOf();
    };
    try {
      await expect(env('3', 1).run(activities.sendNotification, { alertId: id, teamId: s.team.id, job, timeline })).resolves.toMatchObject({ status: 'sent' });
      // Its worker died before reporting: the same activity again; then the workflow's fallback for a send that gave up.
      await expect(env('3', 2).run(activities.sendNotification, { alertId: id, teamId: s.team.id, job, timeline })).resolves.toMatchObject({ status: 'skipped' });
      await env('9', 1).run(activities.recordAlertTimelineEntries, { alertId: id, entries: timeline });
    } finally {
      hook.control.beforeAnswer = undefined;
    }
    expect(onRecordAtPage).toEqual(['notifying pager', 'waiting 600 s for an acknowledgement']);
    expect(await timelineOf()).toEqual(['notifying pager', 'waiting 600 s for an acknowledgement']);
    expect(pagesOf(id)).toHaveLength(1);
  });

  it('an ack timeout reopens an acknowledged alert once: its retry, after a person acknowledged again, changes nothing', async () => {
    const id = await lostStart(0);
    const em = () => s.api.deps.db.em.fork();
    const acknowledge = () => em().nativeUpdate(AlertSchema, { id }, { escalationQueuedAt: null, status: 'acknowledged', acknowledgedAt: new Date(), acknowledgedBy: 'ops@example.com' });
    await acknowledge();
    const activities = notifyActivities();
    const timeout = [{ type: 'ack.timeout', message: 'not resolved within 60 s of the acknowledgement: escalating again', at: new Date().toISOString(), reopen: true }];
    const run = (attempt: number) =>
      activityEnv(id, '12', attempt).run(activities.recordAlertTimelineEntries, { alertId: id, entries: timeout });
    await run(1);
    const reopened = (await s.admin.get(`/api/v1/alerts/${id}`)).body;
    expect(reopened).toMatchObject({ status: 'firing', acknowledgedAt: null, acknowledgedBy: null });
    // Someone acknowledges the reopened alert; then the worker that wrote the timeout turns out to have died before reporting.
    await acknowledge();
    await run(2);
    const after = (await s.admin.get(`/api/v1/alerts/${id}`)).body;
    expect(after.status).toBe('acknowledged');
    expect((after.timeline as { type: string }[]).filter((e) => e.type === 'ack.timeout')).toHaveLength(1);
  });

  it('an ack that reaches the escalation after its ack timeout stands: the timeout, written later, does not reopen the alert', async () => {
    const id = await lostStart(0);
    await s.api.deps.db.em.fork().nativeUpdate(AlertSchema, { id }, { escalationQueuedAt: null });
    expect((await s.admin.post(`/api/v1/alerts/${id}/ack`)).status).toBe(200);
    // The timeout fires; before its entry is written, someone acknowledges again (the escalation takes it and stops).
    const timedOutAt = new Date().toISOString();
    expect((await s.admin.post(`/api/v1/alerts/${id}/ack`)).status).toBe(200);
    const timeout = [{ type: 'ack.timeout', message: 'not resolved within 60 s of the acknowledgement: escalating again', at: timedOutAt, reopen: true }];
    await activityEnv(id, '13', 1).run(notifyActivities().recordAlertTimelineEntries, { alertId: id, entries: timeout });
    const after = (await s.admin.get(`/api/v1/alerts/${id}`)).body;
    expect(after.status).toBe('acknowledged');
    expect((after.timeline as { type: string; message: string }[]).filter((e) => e.type === 'ack').map((e) => e.message)).toEqual([
      expect.stringMatching(/^acknowledged by /),
      expect.stringMatching(/^acknowledged again by /),
    ]);
  });

  // Here rather than among the fault tests: this file's sweep would start another file's lost starts
  // in its own namespace (and the other way round), so every test that sweeps lives in this file.
  it('an API process killed -9 mid-storm: every alert on record pages exactly once, every answered one is on record', async () => {
    const token = `src-${crypto.randomUUID()}-${crypto.randomUUID()}`;
    const source = await s.admin.post('/api/v1/integrations', { team: s.team.slug, type: 'alert-source', name: 'storm', settings: { policy: policy.id }, secrets: { token } });
    expect(source.status).toBe(201);
    const victim = await startApiProcess({ TEMPORAL_NAMESPACE: s.namespace, REDIS_PREFIX: s.redisPrefix });
    try {
      // It answers once a row commits and starts the escalation after the answer: killed mid-storm it
      // leaves rows whose start it never made, and perhaps rows it committed but never answered.
      const answered: string[] = [];
      let next = 0;
      let killed = false;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (next < 60 && !killed) {
            const i = next++;
            const res = await client(victim, token)
              .post(`/api/v1/alerts?source=${source.body.id}`, { dedupKey: `storm-${i}`, summary: `storm ${i}` })
              .catch(() => null);
            if (res?.status === 202) answered.push(res.body.alerts[0].id as string);
            if (answered.length >= 20 && !killed) {
              killed = true;
              process.kill(victim.pid, 'SIGKILL');
            }
          }
        }),
      );
      expect(killed).toBe(true);
      const rows = await s.api.deps.db.em.fork().find(AlertSchema, { source: source.body.id }, { fields: ['id', 'escalationQueuedAt'] });
      console.log(`API killed after ${answered.length} answers: ${rows.length} alerts on record, ${rows.filter((a) => a.escalationQueuedAt).length} with their start not made`);
      const ids = rows.map((a) => a.id);
      expect(ids).toEqual(expect.arrayContaining(answered));

      // Each chain pages and then waits 600 s: once every alert has reached its wait, its page is done.
      // The sweep must also have dealt with every mark left behind, the starts the killed process made
      // but never marked among them (the sweep finds those started): only then would a second start
      // have happened, and the count of pages below say so. On a fast machine the pages come within
      // the sweep's grace, before it looks at those rows.
      await until(
        'every alert on record swept, paged and waiting',
        async () => {
          // The surviving API's sweep takes starts queued longer than its grace of 5 s.
          await s.api.deps.escalations.sweep();
          if (await s.api.deps.db.em.fork().count(AlertSchema, { source: source.body.id, escalationQueuedAt: { $ne: null } })) return undefined;
          if (!ids.every((id) => pagesOf(id).some((d) => d.status === 200))) return undefined;
          const waiting = await Promise.all(ids.map(async (id) => ((await s.admin.get(`/api/v1/alerts/${id}`)).body.timeline as { type: string }[]).some((e) => e.type === 'wait')));
          return waiting.every(Boolean) || undefined;
        },
        90_000,
      );
      expect(ids.map((id) => pagesOf(id).filter((d) => d.status === 200).length)).toEqual(ids.map(() => 1));
    } finally {
      await victim.stop();
    }
  }, 180_000);
});
