import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AlertSchema, AuditLogSchema, MembershipSchema, UserSchema } from '../../db/entities/index.ts';
import { client, tokenFor } from '../fixtures/http.ts';
import { holdingLock } from '../fixtures/locks.ts';
import { initOrm } from '../../db/orm.ts';
import { until } from '../fixtures/until.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { ackLinkIn, startSmtpPeer, type SmtpPeer } from '../peers/smtp.ts';
import { startApi, type TestApi } from '../peers/stack.ts';
import { ownNamespace } from '../peers/temporal.ts';
import { startWebhookReceiver } from '../peers/webhook-receiver.ts';
import { startTestWorker, type TestWorker } from '../peers/worker.ts';

// Alerts end to end against real peers: the API, a worker on the `notifications` queue, the Temporal
// dev server, PostgreSQL, a real SMTP server (nodemailer talks to it) and a signed-webhook receiver.
let api: TestApi;
let worker: TestWorker;
let smtp: SmtpPeer;
let hook: Awaited<ReturnType<typeof startWebhookReceiver>>;
let team: { id: string; slug: string };
let alice: { id: string; email: string };
let admin: ReturnType<typeof client>;
let viewer: ReturnType<typeof client>;
const HOOK_SECRET = `hook-secret-${crypto.randomUUID()}`;
const ids: Record<'smtp' | 'webhook' | 'source' | 'otherSource', string> = {} as never;
const sourceToken = `token-${crypto.randomUUID()}-${crypto.randomUUID()}`;
const em = () => api.deps.db.em.fork();

beforeAll(async () => {
  const namespace = await ownNamespace('alerts');
  [smtp, hook] = await Promise.all([startSmtpPeer(), startWebhookReceiver(HOOK_SECRET)]);
  api = await startApi({ TEMPORAL_NAMESPACE: namespace, REDIS_PREFIX: `${process.env.REDIS_PREFIX}alerts:` });
  worker = await startTestWorker({ TEMPORAL_NAMESPACE: namespace, PUBLIC_URL: api.baseUrl }, { taskQueues: ['notifications'] });
  team = await createTeam(api.deps.db.em);
  alice = await createUser(api.deps.db.em, { teams: [team], role: 'operator' });
  const adminUser = await createUser(api.deps.db.em, { teams: [team], role: 'admin' });
  admin = client(api, await tokenFor(api, adminUser.id));
  viewer = client(api, await tokenFor(api, (await createUser(api.deps.db.em, { teams: [team], role: 'viewer' })).id));
  const integration = async (type: string, settings: Record<string, unknown>, secrets: Record<string, unknown>) => {
    const res = await admin.post('/api/v1/integrations', { team: team.slug, type, name: `${type}-${crypto.randomUUID().slice(0, 8)}`, settings, secrets });
    expect(res.status).toBe(201);
    return res.body.id as string;
  };
  ids.smtp = await integration('smtp', { host: '127.0.0.1', port: smtp.port, from: 'opssight@example.test', username: smtp.credentials.user }, { password: smtp.credentials.pass });
  ids.webhook = await integration('webhook', { url: hook.url }, { signingSecret: HOOK_SECRET });
  ids.source = await integration('alert-source', {}, { token: sourceToken });
}, 120_000);
afterAll(async () => {
  await worker?.shutdown();
  await api?.close();
  await Promise.all([smtp?.close(), hook?.close()]);
});

/** A policy the next source's alerts follow; returns a source authenticated for it. */
async function sourceWithPolicy(steps: unknown[], extra: Record<string, unknown> = {}) {
  const policy = await admin.post('/api/v1/escalation-policies', { team: team.slug, name: `p-${crypto.randomUUID().slice(0, 8)}`, steps, ...extra });
  expect(policy.status).toBe(201);
  const token = `tok-${crypto.randomUUID()}-${crypto.randomUUID()}`;
  const src = await admin.post('/api/v1/integrations', { team: team.slug, type: 'alert-source', name: `src-${crypto.randomUUID().slice(0, 8)}`, settings: { policy: policy.body.id }, secrets: { token } });
  expect(src.status).toBe(201);
  const send = (path: string, body: unknown, t = token) => client(api, t).post(`${path}?source=${src.body.id}`, body);
  return { policy: policy.body, send };
}
const mailsFor = (alertId: string) => smtp.mails.filter((m) => m.raw.includes(alertId));
const hooksFor = (alertId: string) => hook.deliveries.filter((d) => (d.body.alert as { id: string }).id === alertId);
const detail = async (id: string) => (await viewer.get(`/api/v1/alerts/${id}`)).body;

describe('alerts', () => {
  it('ingest opens one alert per dedup key, counts repeats, and runs the chain: email, wait, signed webhook', async () => {
    const { send, policy } = await sourceWithPolicy([
      { type: 'notify_users', users: [alice.id], via: ids.smtp },
      { type: 'wait', seconds: 1 },
      { type: 'notify_channel', integration: ids.webhook },
    ]);
    const dedupKey = `disk-full-${crypto.randomUUID()}`;
    const first = await send('/api/v1/alerts', { dedupKey, summary: 'disk full on db-1', severity: 'critical' });
    expect(first.status).toBe(202);
    expect(first.body.alerts).toEqual([{ id: expect.any(String), dedupKey, outcome: 'opened' }]);
    const id = first.body.alerts[0].id as string;
    const again = await send('/api/v1/alerts', { dedupKey, summary: 'disk full on db-1' });
    expect(again.body.alerts).toEqual([{ id, dedupKey, outcome: 'repeated' }]);

    // Both pages: under load the email's SMTP delivery can land after the later webhook.
    await until('the webhook', async () => (hooksFor(id).length ? true : undefined), 20_000);
    await until('the email', async () => (mailsFor(id).length ? true : undefined), 20_000);
    const [mail] = mailsFor(id);
    expect(mail!.to).toEqual([alice.email]);
    const [delivery] = hooksFor(id);
    // The channel step comes when the wait's deadline (1 s after the chain started) has passed.
    const wait = (await detail(id)).timeline.find((e: { type: string }) => e.type === 'wait');
    const deadline = Date.parse(wait.data.until);
    expect(deadline - Date.parse((await detail(id)).timeline.find((e: { type: string }) => e.type === 'escalation.started').at)).toBeGreaterThanOrEqual(1000);
    expect(delivery!.at).toBeGreaterThanOrEqual(deadline);
    expect(delivery!.at - deadline).toBeLessThan(1500);
    expect(delivery!.body).toMatchObject({ event: 'alert.escalation', alert: { id, dedupKey, severity: 'critical', count: 2 } });

    const d = await until('both attempts on record', async () => {
      const body = await detail(id);
      return body.notifications.filter((n: { status: string }) => n.status === 'sent').length === 2 ? body : undefined;
    });
    expect(d).toMatchObject({ id, status: 'firing', count: 2, policy: { id: policy.id, version: 1 } });
    expect(d.notifications.map((n: Record<string, unknown>) => [n.channel, n.target, n.status, n.attempt])).toEqual([
      ['smtp', alice.email, 'sent', 1],
      ['webhook', expect.stringMatching(/^webhook-/), 'sent', 1],
    ]);
    expect(d.notifications[0].providerId).toMatch(/@/);
    expect(d.timeline.map((e: { type: string }) => e.type)).toEqual(expect.arrayContaining(['opened', 'escalation.started', 'notify', 'wait']));
    // Only one open alert for the key.
    expect((await viewer.get(`/api/v1/alerts?dedupKey=${dedupKey}`)).body.alerts).toHaveLength(1);
  });

  it('first firings of one key at once open one alert: the others are its repeats, and it pages once', async () => {
    const { send } = await sourceWithPolicy([{ type: 'notify_channel', integration: ids.webhook }, { type: 'wait', seconds: 60 }]);
    const dedupKey = `storm-${crypto.randomUUID()}`;
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => send('/api/v1/alerts', { dedupKey, summary: `storm ${i}` })));
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(202));
    const outcomes = answers.map((a) => a.body.alerts[0] as { id: string; outcome: string });
    expect(outcomes.filter((o) => o.outcome === 'opened')).toHaveLength(1);
    expect(outcomes.filter((o) => o.outcome === 'repeated')).toHaveLength(7);
    const id = outcomes[0]!.id;
    expect(new Set(outcomes.map((o) => o.id))).toEqual(new Set([id]));

    // Once the chain waits, its one notify step has run: one delivery, one 'opened' entry.
    const d = await until('the chain waiting', async () => {
      const body = await detail(id);
      return body.timeline.some((e: { type: string }) => e.type === 'wait') && body.notifications.some((n: { status: string }) => n.status === 'sent') ? body : undefined;
    });
    expect(d).toMatchObject({ count: 8, status: 'firing' });
    expect(d.timeline.filter((e: { type: string }) => e.type === 'opened')).toHaveLength(1);
    expect(hooksFor(id).filter((h) => h.status === 200)).toHaveLength(1);
    expect((await viewer.get(`/api/v1/alerts?dedupKey=${dedupKey}`)).body.alerts).toHaveLength(1);
  });

  it('an acknowledgement during a wait: nothing more is sent; resolve closes it; a new firing opens a new alert', async () => {
    const { send } = await sourceWithPolicy([
      { type: 'notify_users', users: [alice.id], via: ids.smtp },
      { type: 'wait', seconds: 2 },
      { type: 'notify_channel', integration: ids.webhook },
    ]);
    const dedupKey = `cpu-${crypto.randomUUID()}`;
    const id = (await send('/api/v1/alerts', { dedupKey, summary: 'cpu hot' })).body.alerts[0].id as string;
    await until('the email', async () => (mailsFor(id).length ? true : undefined), 20_000);
    expect((await viewer.post(`/api/v1/alerts/${id}/ack`)).status).toBe(403);
    const acked = await admin.post(`/api/v1/alerts/${id}/ack`, { note: 'looking' });
    expect(acked.status).toBe(200);
    expect(acked.body).toMatchObject({ status: 'acknowledged', acknowledgedBy: expect.stringContaining('@') });
    expect(await em().count(AuditLogSchema, { action: 'alert.ack', resourceId: id })).toBe(1);
    // The webhook was due 2 s after the email: wait well past it.
    await new Promise((r) => setTimeout(r, 3000));
    expect(hooksFor(id)).toEqual([]);
    expect(mailsFor(id)).toHaveLength(1);
    const resolved = await send('/api/v1/alerts', { dedupKey, status: 'resolved', summary: 'cpu ok' });
    expect(resolved.body.alerts).toEqual([{ id, dedupKey, outcome: 'resolved' }]);
    expect((await detail(id)).status).toBe('resolved');
    expect((await admin.post(`/api/v1/alerts/${id}/resolve`)).status).toBe(409);
    const reopened = await send('/api/v1/alerts', { dedupKey, summary: 'cpu hot again' });
    expect(reopened.body.alerts[0]).toMatchObject({ outcome: 'opened' });
    expect(reopened.body.alerts[0].id).not.toBe(id);
    await admin.post(`/api/v1/alerts/${reopened.body.alerts[0].id}/resolve`);
  });

  it('a step says on the timeline whom it could not page and why: a disabled user, one removed from the team', async () => {
    const [off, left] = [await createUser(api.deps.db.em, { teams: [team], role: 'operator' }), await createUser(api.deps.db.em, { teams: [team], role: 'operator' })];
    const { send } = await sourceWithPolicy([{ type: 'notify_users', users: [off.id, alice.id, left.id], via: ids.smtp }, { type: 'wait', seconds: 30 }]);
    await em().nativeUpdate(UserSchema, { id: off.id }, { disabled: true });
    await em().nativeDelete(MembershipSchema, { user: left.id, team: team.id });
    const id = (await send('/api/v1/alerts', { dedupKey: `gone-${crypto.randomUUID()}`, summary: 'who is there' })).body.alerts[0].id as string;
    await until('the email to alice', async () => mailsFor(id).find((m) => m.raw.includes(alice.email)), 20_000);
    const timeline = (await detail(id)).timeline as { type: string; message: string; data: { unreachable: string[] } }[];
    const skipped = timeline.filter((e) => e.type === 'notify.unreachable');
    expect(skipped).toHaveLength(1);
    expect(skipped[0]!.data.unreachable).toEqual([`${left.email} (not a member of the team, or removed)`, `${off.email} (disabled)`]);
    expect(skipped[0]!.message).toContain(off.email);
    expect(mailsFor(id).filter((m) => m.raw.includes(off.email) || m.raw.includes(left.email))).toEqual([]);
    await admin.post(`/api/v1/alerts/${id}/resolve`);
  });

  it('an ack timeout escalates again from the first step: every target of it is paged again, the alert firing', async () => {
    const bob = await createUser(api.deps.db.em, { teams: [team], role: 'operator' });
    const { send } = await sourceWithPolicy([{ type: 'notify_users', users: [alice.id, bob.id], via: ids.smtp }, { type: 'wait', seconds: 600 }], { ackTimeoutSeconds: 1 });
    const id = (await send('/api/v1/alerts', { dedupKey: `disk-${crypto.randomUUID()}`, summary: 'disk full' })).body.alerts[0].id as string;
    const to = (address: string) => mailsFor(id).filter((m) => m.raw.includes(address)).length;
    await until('both emails', async () => (to(alice.email) === 1 && to(bob.email) === 1 ? true : undefined), 20_000);
    expect((await admin.post(`/api/v1/alerts/${id}/ack`)).status).toBe(200);
    await until('both emails of the second cycle', async () => (to(alice.email) === 2 && to(bob.email) === 2 ? true : undefined), 20_000);
    const after = await detail(id);
    expect(after.status).toBe('firing');
    expect((after.notifications as { status: string }[]).map((n) => n.status)).toEqual(['sent', 'sent', 'sent', 'sent']);
    await admin.post(`/api/v1/alerts/${id}/resolve`);
  });

  it('an emailed acknowledgement link works once; a tampered one is refused', async () => {
    const { send } = await sourceWithPolicy([{ type: 'notify_users', users: [alice.id], via: ids.smtp }, { type: 'wait', seconds: 30 }]);
    const id = (await send('/api/v1/alerts', { dedupKey: `link-${crypto.randomUUID()}`, summary: 'link test' })).body.alerts[0].id as string;
    const mail = await until('the email', async () => mailsFor(id)[0], 20_000);
    const link = ackLinkIn(mail)!;
    expect(link).toBeTruthy();
    const path = link.slice(link.indexOf('/api/v1/'));
    const token = new URL(link).searchParams.get('token')!;
    const page = await fetch(`${api.baseUrl}${path}`);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect((await detail(id)).status).toBe('firing');
    const forged = `${token.slice(0, -2)}${token.endsWith('A') ? 'B' : 'A'}A`;
    expect((await client(api).post(`/api/v1/alerts/ack-link?token=${forged}`)).status).toBe(400);
    const used = await client(api).post(`/api/v1/alerts/ack-link?token=${token}`);
    expect(used.status).toBe(200);
    expect(used.body).toMatchObject({ id, status: 'acknowledged', acknowledgedBy: `${alice.email} (email link)` });
    expect((await client(api).post(`/api/v1/alerts/ack-link?token=${token}`)).status).toBe(409);
    // Audited as alice (the recipient is a member), by way of the link.
    const [audit] = await em().find(AuditLogSchema, { action: 'alert.ack', resourceId: id });
    expect(audit).toMatchObject({ actorId: alice.id, actorEmail: alice.email, data: { via: 'email-link', recipient: alice.email } });
    await admin.post(`/api/v1/alerts/${id}/resolve`);
  });

  it('an emailed link whose acknowledgement did not commit can be used again', async () => {
    const { send } = await sourceWithPolicy([{ type: 'notify_users', users: [alice.id], via: ids.smtp }, { type: 'wait', seconds: 30 }]);
    const id = (await send('/api/v1/alerts', { dedupKey: `link-${crypto.randomUUID()}`, summary: 'link lost' })).body.alerts[0].id as string;
    const token = new URL(ackLinkIn(await until('the email', async () => mailsFor(id)[0], 20_000))!).searchParams.get('token')!;
    // The alert's row is held while the click waits for it; then the click's database session dies.
    const holder = await initOrm(api.config.DATABASE_URL, { poolMax: 2 });
    const [lost] = await holdingLock(() => holder.em.fork(), { sql: 'select id from alerts where id = ? for update', params: [id] }, 1, () => [client(api).post(`/api/v1/alerts/ack-link?token=${token}`)], async (tx) => {
      const { pid } = (await tx.execute<{ pid: number }[]>('select pg_backend_pid() as pid'))[0]!;
      await tx.execute('select pg_terminate_backend(pid) from pg_stat_activity where ? = any(pg_blocking_pids(pid))', [pid]);
    });
    await holder.close();
    expect((await lost!).status).toBeGreaterThanOrEqual(500);
    expect((await detail(id)).status).toBe('firing');
    const again = await client(api).post(`/api/v1/alerts/ack-link?token=${token}`);
    expect([again.status, again.body.status]).toEqual([200, 'acknowledged']);
    expect((await client(api).post(`/api/v1/alerts/ack-link?token=${token}`)).status).toBe(409);
    await admin.post(`/api/v1/alerts/${id}/resolve`);
  });

  it("an emailed link to a channel's address that is a user of another team acknowledges without putting it on that user's name", async () => {
    const outsider = await createUser(api.deps.db.em, { teams: [await createTeam(api.deps.db.em)], role: 'admin' });
    const channel = await admin.post('/api/v1/integrations', { team: team.slug, type: 'smtp', name: `smtp-${crypto.randomUUID().slice(0, 8)}`, settings: { host: '127.0.0.1', port: smtp.port, from: 'opssight@example.test', to: [outsider.email], username: smtp.credentials.user }, secrets: { password: smtp.credentials.pass } });
    expect(channel.status).toBe(201);
    const { send } = await sourceWithPolicy([{ type: 'notify_channel', integration: channel.body.id }, { type: 'wait', seconds: 30 }]);
    const id = (await send('/api/v1/alerts', { dedupKey: `outsider-${crypto.randomUUID()}`, summary: 'outsider link' })).body.alerts[0].id as string;
    const link = ackLinkIn(await until('the email', async () => mailsFor(id)[0], 20_000))!;
    const used = await client(api).post(`/api/v1/alerts/ack-link?token=${new URL(link).searchParams.get('token')!}`);
    expect(used.status).toBe(200);
    expect(used.body).toMatchObject({ id, status: 'acknowledged', acknowledgedBy: `${outsider.email} (email link)` });
    // On record as the address the mail went to, as for any channel's address, not as the outsider.
    const [audit] = await em().find(AuditLogSchema, { action: 'alert.ack', resourceId: id });
    expect(audit).toMatchObject({ actorId: null, actorEmail: null, data: { via: 'email-link', recipient: outsider.email } });
    await admin.post(`/api/v1/alerts/${id}/resolve`);
  });

  it('a failing channel is retried with backoff and every attempt recorded; the email is not held up', async () => {
    const { send } = await sourceWithPolicy([
      { type: 'notify_channel', integration: ids.webhook },
      { type: 'notify_users', users: [alice.id], via: ids.smtp },
    ]);
    hook.control.failNext = 2;
    const id = (await send('/api/v1/alerts', { dedupKey: `flaky-${crypto.randomUUID()}`, summary: 'flaky webhook' })).body.alerts[0].id as string;
    await until('the email', async () => (mailsFor(id).length ? true : undefined), 20_000);
    // The email went out while the webhook was still failing.
    expect(hooksFor(id).filter((d) => d.status === 200)).toEqual([]);
    const d = await until('the webhook to get through', async () => {
      const body = await detail(id);
      return body.notifications.some((n: { channel: string; status: string }) => n.channel === 'webhook' && n.status === 'sent') ? body : undefined;
    }, 20_000);
    const webhook = d.notifications.filter((n: { channel: string }) => n.channel === 'webhook');
    expect(webhook.map((n: Record<string, unknown>) => [n.attempt, n.status])).toEqual([[1, 'failed'], [2, 'failed'], [3, 'sent']]);
    expect(webhook[0].error).toMatch(/HTTP 503/);
    await admin.post(`/api/v1/alerts/${id}/resolve`);
  });

  it('Alertmanager webhook payloads: a group opens one alert per fingerprint, resolved ones close them', async () => {
    const { send } = await sourceWithPolicy([{ type: 'wait', seconds: 60 }]);
    const group = (status: 'firing' | 'resolved', fps: string[]) => ({
      version: '4', groupKey: '{}:{alertname="Down"}', status, receiver: 'opssight', externalURL: 'http://am.local',
      alerts: fps.map((fp) => ({ status, labels: { alertname: 'Down', instance: fp, severity: 'critical' }, annotations: { summary: `${fp} is down` }, startsAt: new Date().toISOString(), fingerprint: fp })),
    });
    const fps = [`fp${crypto.randomUUID().slice(0, 8)}`, `fp${crypto.randomUUID().slice(0, 8)}`];
    const fired = await send('/api/v1/alerts/alertmanager', group('firing', fps));
    expect(fired.status).toBe(202);
    expect(fired.body.alerts.map((a: { outcome: string }) => a.outcome)).toEqual(['opened', 'opened']);
    const row = await em().findOneOrFail(AlertSchema, { id: fired.body.alerts[0].id });
    expect(row).toMatchObject({ summary: `${fps[0]} is down`, severity: 'critical', dedupKey: `alertmanager:${fps[0]}` });
    const done = await send('/api/v1/alerts/alertmanager', group('resolved', fps));
    expect(done.body.alerts.map((a: { outcome: string }) => a.outcome)).toEqual(['resolved', 'resolved']);
    const wf = api.deps.temporal.workflow.getHandle(`alert-${fired.body.alerts[1].id}`);
    expect(await wf.result()).toMatchObject({ outcome: 'resolved' });
  });

  it('ingest refuses a wrong token or source (401) and bad bodies (400 naming the field), writing nothing', async () => {
    // This team's: other files open alerts of their own meanwhile.
    const before = await em().count(AlertSchema, { team: team.id });
    const ok = { dedupKey: 'x', summary: 'y' };
    expect((await client(api, 'wrong-token-wrong-token-wrong-token').post(`/api/v1/alerts?source=${ids.source}`, ok)).status).toBe(401);
    expect((await client(api).post(`/api/v1/alerts?source=${ids.source}`, ok)).status).toBe(401);
    expect((await client(api, sourceToken).post(`/api/v1/alerts?source=${ids.smtp}`, ok)).status).toBe(401);
    const bad = await client(api, sourceToken).post(`/api/v1/alerts?source=${ids.source}`, { dedupKey: '', summary: 'y', severity: 'meh' });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toMatch(/problem\+json/);
    expect(bad.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['dedupKey', 'severity']);
    expect((await client(api, sourceToken).post('/api/v1/alerts?source=nope', ok)).body.errors[0].field).toBe('source');
    expect(await em().count(AlertSchema, { team: team.id })).toBe(before);
  });

  it('editing a policy does not change an alert already escalating: it keeps its version', async () => {
    const { send, policy } = await sourceWithPolicy([{ type: 'wait', seconds: 1 }, { type: 'notify_users', users: [alice.id], via: ids.smtp }]);
    const id = (await send('/api/v1/alerts', { dedupKey: `ver-${crypto.randomUUID()}`, summary: 'versioned' })).body.alerts[0].id as string;
    const edited = await admin.put(`/api/v1/escalation-policies/${policy.id}`, { steps: [{ type: 'notify_channel', integration: ids.webhook }] });
    expect(edited.body.version).toBe(2);
    await until('the email of version 1', async () => (mailsFor(id).length ? true : undefined), 20_000);
    expect(hooksFor(id)).toEqual([]);
    expect((await detail(id)).policy).toEqual({ id: policy.id, version: 1 });
    await admin.post(`/api/v1/alerts/${id}/resolve`);
  });

  it('two edits of one policy version: one becomes the next version, the other is refused and kept nowhere', async () => {
    const { policy } = await sourceWithPolicy([{ type: 'wait', seconds: 60 }]);
    const edit = (seconds: number) => admin.put(`/api/v1/escalation-policies/${policy.id}`, { version: 1, steps: [{ type: 'wait', seconds }] });
    const results = await Promise.all([edit(61), edit(62)]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
    const won = results.find((r) => r.status === 200)!;
    expect(results.find((r) => r.status === 409)!.body.errors).toEqual([{ field: 'version', message: 'not the current version' }]);
    const now = (await admin.get(`/api/v1/escalation-policies/${policy.id}`)).body;
    expect([now.version, now.steps]).toEqual([2, won.body.steps]);
    expect(await em().count(AuditLogSchema, { resourceId: policy.id, action: 'escalation_policy.update' })).toBe(1);
  });

  it('policies refuse steps naming what the team does not have', async () => {
    const res = await admin.post('/api/v1/escalation-policies', { team: team.slug, name: 'bad', steps: [{ type: 'notify_users', users: [crypto.randomUUID()], via: ids.webhook }, { type: 'notify_channel', integration: ids.source }] });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['steps.0.users', 'steps.0.via', 'steps.1.integration']);
    expect((await viewer.post('/api/v1/escalation-policies', { team: team.slug, name: 'v', steps: [{ type: 'wait', seconds: 1 }] })).status).toBe(403);
  });
});
