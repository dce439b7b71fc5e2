import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { escalationWorkflowId } from '../../contracts/alerts/escalation.ts';
import type { PolicySnapshot } from '../../contracts/alerts/index.ts';
import { AlertSchema, TeamSchema } from '../../db/entities/index.ts';
import { useNotificationStack } from '../fixtures/notifications.ts';
import { until } from '../fixtures/until.ts';
import { startWebhookReceiver } from '../peers/webhook-receiver.ts';

// The API answers a source once the alert row commits and starts the escalation after the answer
// (core/alerts/escalation-start.ts). What a crash between the two leaves behind is a row still marked
// queued; these tests make that state directly and check what the user would lose: the page, or an
// ack or resolve that arrives before the start.
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
});
