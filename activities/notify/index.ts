import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { EscalationActivities, NotificationJob, TimelineEntry } from '../../contracts/alerts/escalation.ts';
import type { PagerDutySettings } from '../../contracts/integrations/pagerduty.ts';
import type { SlackSecrets, SlackSettings } from '../../contracts/integrations/slack.ts';
import type { SlackWebhookSecrets } from '../../contracts/integrations/slack-webhook.ts';
import type { SmtpSettings } from '../../contracts/integrations/smtp.ts';
import type { Config } from '../../core/config.ts';
import { signAckLink } from '../../core/alerts/ack-links.ts';
import { publishAlert, type AlertAnnouncer } from '../../core/alerts/announce.ts';
import { recordView, toAttemptView } from '../../core/alerts/views.ts';
import { loadIntegrationSecret } from '../../core/integrations/store.ts';
import type { Logger } from '../../core/logger.ts';
import { onCallAt } from '../../core/oncall/rotation.ts';
import type { Keyring } from '../../core/secrets/keyring.ts';
import { AlertAckLinkSchema, AlertSchema, IntegrationSchema, MembershipSchema, NotificationAttemptSchema, OnCallScheduleSchema, UserSchema } from '../../db/entities/index.ts';
import { alertForNotification, appendTimelineEntries, insertNotificationAttempt, type NamedAlert } from '../../db/repositories/alert-escalation.ts';
import type { AlertRecord } from '../../db/repositories/alerts.ts';
import type { TwilioSecrets, TwilioSettings } from '../../contracts/integrations/twilio.ts';
import { sendEmail } from './email.ts';
import { sendPagerDutyEvent } from './pagerduty.ts';
import { postToSlack } from './slack.ts';
import { postToSlackWebhook } from './slack-webhook.ts';
import { smsAckCode, smsAckRecipient } from '../../core/alerts/sms-codes.ts';
import { sendSms } from './sms.ts';
import type { ApnsSecrets, ApnsSettings } from '../../contracts/integrations/apns.ts';
import { pushApns } from './apns.ts';
import type { FcmSecrets, FcmSettings } from '../../contracts/integrations/fcm.ts';
import { pushFcm } from './fcm.ts';
import { sendWebhook } from './webhook.ts';

export type NotifyDeps = { em: EntityManager; keyring: Keyring; config: Pick<Config, 'JWT_SECRET' | 'PUBLIC_URL' | 'API_HOST' | 'API_PORT'>; logger: Logger } & AlertAnnouncer;

const ACK_LINK_TTL_MS = 24 * 3600_000;
const publicUrl = (c: NotifyDeps['config']) => (c.PUBLIC_URL ?? `http://${c.API_HOST}:${c.API_PORT}`).replace(/\/$/, '');
const viewOf = (n: NamedAlert) => recordView(n.alert, n.team, n.source);

function alertEvent(alert: AlertRecord, job: NotificationJob) {
  return { event: 'alert.escalation', notification: job.key, target: job.target, alert: { id: alert.id, dedupKey: alert.dedupKey, status: alert.status, severity: alert.severity, summary: alert.summary, labels: alert.labels, count: alert.count, firstSeenAt: alert.firstSeenAt.toISOString() } };
}

/** The escalation workflow's side effects: its timeline, whom a step reaches, and each delivery (on record). */
export function createNotifyActivities(deps: NotifyDeps): EscalationActivities {
  async function emailFor(em: EntityManager, alert: AlertRecord, to: string, settings: SmtpSettings, secrets: { password?: string }): Promise<string> {
    const link = em.create(AlertAckLinkSchema, { id: crypto.randomUUID(), alert: em.getReference(AlertSchema, alert.id), recipient: to, expiresAt: new Date(Date.now() + ACK_LINK_TTL_MS), usedAt: null });
    await em.flush();
    const token = signAckLink(deps.config.JWT_SECRET, { link: link.id, alert: alert.id, exp: link.expiresAt.getTime() });
    const ackUrl = `${publicUrl(deps.config)}/api/v1/alerts/ack-link?token=${token}`;
    const subject = `[${alert.severity.toUpperCase()}] ${alert.summary}`;
    const text = `${alert.summary}\n\nAlert ${alert.id} (${alert.dedupKey}), first seen ${alert.firstSeenAt.toISOString()}, seen ${alert.count} time(s).\n\nAcknowledge (works once, for 24 hours): ${ackUrl}\n`;
    const html = `<p><strong>${escapeHtml(alert.summary)}</strong></p><p>Alert ${alert.id} (${escapeHtml(alert.dedupKey)}), seen ${alert.count} time(s).</p><p><a href="${ackUrl}">Acknowledge</a> (works once, for 24 hours)</p>`;
    return sendEmail(settings, secrets, { to, subject, text, html });
  }

  // The page's short code is a single-use acknowledgement link of its own, found again by the
  // replying number and the code (the reply is signed by Twilio, so only that phone can use it).
  async function smsFor(em: EntityManager, alert: AlertRecord, to: string, settings: TwilioSettings, secrets: TwilioSecrets): Promise<string> {
    let code = smsAckCode();
    while (await em.count(AlertAckLinkSchema, { recipient: smsAckRecipient(to, code), usedAt: null, expiresAt: { $gt: new Date() } })) code = smsAckCode();
    em.create(AlertAckLinkSchema, { id: crypto.randomUUID(), alert: em.getReference(AlertSchema, alert.id), recipient: smsAckRecipient(to, code), expiresAt: new Date(Date.now() + ACK_LINK_TTL_MS), usedAt: null });
    await em.flush();
    const body = `[${alert.severity.toUpperCase()}] ${alert.summary.slice(0, 300)} (seen ${alert.count}x). Reply ACK ${code} to acknowledge.`;
    return sendSms(settings, secrets, to, body);
  }

  /**
   * Timeline entries in one statement, each announced to live views with the alert as committed.
   * Keyed by the workflow, or else by the activity (stable across its retries): entries already there
   * are not written again, and only news reopens an alert.
   */
  async function recordTimeline(alertId: string, entries: TimelineEntry[]) {
    const { info } = Context.current();
    const key = `${info.workflowExecution?.runId ?? info.activityType}:${info.activityId}`;
    const keyed = entries.map((e, n) => ({ at: e.at, type: e.type, message: e.message, data: e.data ?? null, key: e.key ?? `${key}.${n}` }));
    const named = await appendTimelineEntries(deps.em.fork(), alertId, keyed, entries.find((e) => e.reopen)?.at ?? null);
    if (!named) return;
    const alert = viewOf(named);
    // Live views hear of each entry once, from whichever activity wrote it.
    const written = new Set(named.written);
    for (const [n, e] of entries.entries()) {
      if (!written.has(keyed[n]!.key)) continue;
      await publishAlert(deps, { change: e.reopen ? 'reopened' : 'timeline', alert, timeline: { at: e.at, type: e.type, message: e.message, data: e.data ?? null } });
    }
  }

  /** One delivery attempt on record, announced to live views with the alert as loaded for it. */
  async function recordAttempt(em: EntityManager, named: NamedAlert, a: { key: string; attempt: number; channel: string; integrationId: string | null; target: string; status: 'sent' | 'failed' | 'skipped'; providerId: string | null; error: string | null; started: number }) {
    const { started, ...fields } = a;
    const row = { ...fields, alertId: named.alert.id, latencyMs: Date.now() - started, at: new Date(started) };
    await insertNotificationAttempt(em, row);
    await publishAlert(deps, { change: 'notification', alert: viewOf(named), notification: toAttemptView(row) });
  }

  /**
   * Records what a delivery did. Once a page went out, a retry of the activity would page again unless
   * its attempt is on record, so a database that is down is waited for here, within the activity's
   * time, instead of failing the activity (the insert is idempotent per key and attempt).
   */
  async function untilRecorded(record: () => Promise<void>): Promise<void> {
    const ctx = Context.current();
    for (let pause = 250; ; pause = Math.min(pause * 2, 2_000)) {
      try {
        return await record();
      } catch (err) {
        deps.logger.warn({ err }, 'recording a notification attempt failed; trying again');
        // Rejects once the activity is cancelled or times out: then Temporal's retry is all that is left.
        await ctx.sleep(pause);
      }
    }
  }

  return {
    async recordAlertTimeline({ alertId, ...entry }) {
      await recordTimeline(alertId, [entry]);
    },

    async recordAlertTimelineEntries({ alertId, entries }) {
      await recordTimeline(alertId, entries);
    },

    async resolveStepTargets({ alertId, teamId, step, keyPrefix }) {
      const em = deps.em.fork();
      const jobs = (integrationId: string, targets: string[]): NotificationJob[] => targets.map((target, n) => ({ key: `${keyPrefix}.${n}`, integrationId, target }));
      // Whom the step names but cannot reach, and why: said on the alert's timeline, never silently dropped.
      const unreachable: string[] = [];
      /**
       * Each person's address on the step's channel: their phone for SMS, their devices for push, their
       * email otherwise. Only enabled members of the alert's team: a policy cannot page an outsider.
       */
      const addressesOf = async (ids: string[], via: string) => {
        const channel = await em.findOne(IntegrationSchema, { id: via, team: teamId }, { fields: ['type'] });
        const members = await em.find(MembershipSchema, { team: teamId, user: { $in: ids } }, { populate: ['user'] });
        const users = members.map((m) => m.user as unknown as { email: string; disabled: boolean; id: string; phone: string | null; pushTokens: string[] });
        const gone = ids.filter((id) => !users.some((u) => u.id === id));
        if (gone.length) {
          const named = await em.find(UserSchema, { id: { $in: gone } }, { fields: ['email'] });
          for (const id of gone) unreachable.push(`${named.find((u) => u.id === id)?.email ?? `user ${id}`} (not a member of the team, or removed)`);
        }
        for (const u of users) if (u.disabled) unreachable.push(`${u.email} (disabled)`);
        const people = users.filter((u) => !u.disabled).sort((a, b) => ids.indexOf(a.id) - ids.indexOf(b.id));
        if (channel?.type === 'twilio') {
          for (const u of people) if (!u.phone) unreachable.push(`${u.email} (no phone number for SMS)`);
          return people.flatMap((u) => (u.phone ? [u.phone] : []));
        }
        if (channel?.type === 'apns' || channel?.type === 'fcm') {
          for (const u of people) if (!u.pushTokens?.length) unreachable.push(`${u.email} (no device registered for push)`);
          return people.flatMap((u) => u.pushTokens ?? []);
        }
        return people.map((u) => u.email);
      };
      const resolve = async (): Promise<NotificationJob[]> => {
        switch (step.type) {
          case 'notify_users':
            return jobs(step.via, await addressesOf(step.users, step.via));
          case 'notify_oncall': {
            const schedule = await em.findOne(OnCallScheduleSchema, { id: step.schedule, team: teamId });
            if (!schedule) unreachable.push(`the on-call of schedule ${step.schedule} (the schedule no longer exists)`);
            const who = schedule ? onCallAt(schedule, Date.now()).user : null;
            if (schedule && !who) unreachable.push(`the on-call of ${schedule.name} (nobody is on call now)`);
            return who ? jobs(step.via, await addressesOf([who], step.via)) : [];
          }
          case 'notify_channel': {
            const row = await em.findOne(IntegrationSchema, { id: step.integration, team: teamId });
            if (!row) {
              unreachable.push(`channel ${step.integration} (the integration no longer exists)`);
              return [];
            }
            return jobs(row.id, recipientsOf(row.type, row.settings as Record<string, unknown>) ?? [row.name]);
          }
          default:
            return [];
        }
      };
      const found = await resolve();
      if (unreachable.length) {
        const { info } = Context.current();
        // Keyed by the step's place in the chain: a look-up run again writes nothing twice.
        const key = `${info.workflowExecution?.runId ?? info.activityType}:unreachable:${keyPrefix}`;
        await recordTimeline(alertId, [{ type: 'notify.unreachable', message: `not paged: ${unreachable.join(', ')}`, at: new Date().toISOString(), data: { step: Number(keyPrefix.split('.')[2]), unreachable }, key }]);
      }
      return found;
    },

    async sendNotification({ alertId, teamId, job, timeline }) {
      // The step's entries are on record before its page goes out (a failure here pages nobody yet).
      if (timeline?.length) await recordTimeline(alertId, timeline);
      const em = deps.em.fork();
      const attempt = Context.current().info.attempt;
      // The alert (status as of this attempt's start) is also what the announcement shows.
      const named = await alertForNotification(em, alertId, job.key);
      if (!named || named.sent) return { status: 'skipped', providerId: null };
      const alert = named.alert;
      const started = Date.now();
      let channel = 'unknown';
      const save = (status: 'sent' | 'failed' | 'skipped', providerId: string | null, error: string | null) =>
        recordAttempt(em, named, { key: job.key, attempt, channel, integrationId: job.integrationId, target: job.target, status, providerId, error, started });
      // A job names its alert's team; another team's alert is nobody's page from here.
      if (alert.teamId !== teamId) return { status: 'skipped', providerId: null };
      // Acknowledged or resolved since the step started it: paging now would be paging after the ack.
      if (alert.status !== 'firing') {
        await save('skipped', null, `alert is ${alert.status}`);
        return { status: 'skipped', providerId: null };
      }
      let providerId: string | null;
      try {
        const integration = await loadIntegrationSecret(em, deps.keyring, { teamId, integrationId: job.integrationId });
        channel = integration.type;
        if (integration.type === 'smtp') providerId = await emailFor(em, alert, job.target, integration.settings as SmtpSettings, integration.secrets as { password?: string });
        else if (integration.type === 'webhook') {
          const { settings, secrets } = integration as unknown as { settings: { url: string }; secrets: { signingSecret: string } };
          providerId = await sendWebhook(settings.url, secrets.signingSecret, alertEvent(alert, job), `${alertId}:${job.key}`);
        } else if (integration.type === 'slack') providerId = await postToSlack(integration.settings as SlackSettings, integration.secrets as SlackSecrets, alert);
        else if (integration.type === 'slack-webhook') {
          // Slack answers a webhook post with "ok" alone: there is no id to keep.
          await postToSlackWebhook(integration.secrets as SlackWebhookSecrets, alert);
          providerId = null;
        } else if (integration.type === 'twilio') providerId = await smsFor(em, alert, job.target, integration.settings as TwilioSettings, integration.secrets as TwilioSecrets);
        else if (integration.type === 'apns') providerId = await pushApns(integration.settings as ApnsSettings, integration.secrets as ApnsSecrets, job.target, alert);
        else if (integration.type === 'fcm') providerId = await pushFcm(integration.settings as FcmSettings, integration.secrets as FcmSecrets, job.target, alert);
        else if (integration.type === 'pagerduty') providerId = await sendPagerDutyEvent(integration.settings as PagerDutySettings, (integration.secrets as { routingKey: string }).routingKey, 'trigger', alert);
        else throw ApplicationFailure.nonRetryable(`integration type ${integration.type} cannot deliver notifications`, 'NotANotificationChannel');
      } catch (err) {
        await save('failed', null, (err as Error).message.slice(0, 500)).catch((e: unknown) => deps.logger.warn({ err: e, alertId }, 'could not record a failed notification attempt'));
        throw err;
      }
      await untilRecorded(() => save('sent', providerId, null));
      return { status: 'sent', providerId };
    },

    async followUpPagerDuty({ alertId, teamId, action, cycle }) {
      const em = deps.em.fork();
      const attempt = Context.current().info.attempt;
      const named = await alertForNotification(em, alertId, null);
      if (!named || named.alert.teamId !== teamId) return 0;
      const alert = named.alert;
      const sentBefore = await em.find(NotificationAttemptSchema, { alert: alertId, channel: 'pagerduty', status: 'sent' }, { fields: ['integrationId', 'key'] });
      const done = new Set(sentBefore.map((t) => t.key));
      const triggered = sentBefore.filter((t) => !t.key.startsWith('pagerduty.'));
      let sent = 0;
      let failure: Error | undefined;
      // Each service on its own: one that fails is retried with the step, the others are not sent twice.
      for (const integrationId of new Set(triggered.flatMap((t) => (t.integrationId ? [t.integrationId] : [])))) {
        // An acknowledgement that timed out escalates again (a new cycle): its next acknowledge is sent too.
        const key = `pagerduty.${action}.${cycle}.${integrationId}`;
        if (done.has(key)) continue;
        const started = Date.now();
        let status: 'sent' | 'failed' = 'sent';
        let error: string | null = null;
        try {
          const integration = await loadIntegrationSecret(em, deps.keyring, { teamId, integrationId });
          await sendPagerDutyEvent(integration.settings as PagerDutySettings, (integration.secrets as { routingKey: string }).routingKey, action, alert);
          sent++;
        } catch (err) {
          [status, error, failure] = ['failed', (err as Error).message.slice(0, 500), err as Error];
        }
        await untilRecorded(() => recordAttempt(em, named, { key, attempt, channel: 'pagerduty', integrationId, target: action, status, providerId: status === 'sent' ? alert.id : null, error, started }));
      }
      if (failure) throw failure;
      return sent;
    },
  };
}

/** Channels that reach a list of recipients (addresses, numbers, devices) page each one; others are one target. */
function recipientsOf(type: string, settings: Record<string, unknown>): string[] | undefined {
  if (type === 'smtp' || type === 'twilio') return (settings.to as string[] | undefined) ?? [];
  if (type === 'apns' || type === 'fcm') return (settings.deviceTokens as string[] | undefined) ?? [];
  return undefined;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
