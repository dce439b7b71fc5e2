import { createHash, timingSafeEqual } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { LockMode, UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/postgresql';
import { alertChangeSignal, escalationWorkflowId, type AlertChange, type EscalationInput } from '../../contracts/alerts/escalation.ts';
import type { AlertChangeKind, AlertDetail, AlertView, GenericAlert, IngestOutcome, PolicySnapshot } from '../../contracts/alerts/index.ts';
import type { AlertSourceSettings } from '../../contracts/integrations/alert-source.ts';
import { TASK_QUEUES } from '../../contracts/temporal.ts';
import { verifyAckLink } from '../../core/alerts/ack-links.ts';
import { alertForAnnouncement, announceAlert, type AlertAnnouncer } from '../../core/alerts/announce.ts';
import { toAlertView, toAttemptView } from '../../core/alerts/views.ts';
import { assertCan, visibleTeamIds, type Principal } from '../../core/access.ts';
import { AuthenticationError, ConflictError, InputError, NotFoundError } from '../../core/errors.ts';
import { loadIntegrationSecret } from '../../core/integrations/store.ts';
import type { Keyring } from '../../core/secrets/keyring.ts';
import { AlertSchema, EscalationPolicySchema, IntegrationSchema, TeamSchema, UserSchema, type Alert } from '../../db/entities/index.ts';
import { alertTimeline, appendAlertEvent, listAlerts, lockOpenAlert, useAckLink, type AlertFilter } from '../../db/repositories/alerts.ts';
import { recordAudit } from '../../db/repositories/audit.ts';

type Deps = { temporal: Client; keyring: Keyring } & AlertAnnouncer;
export type AlertSource = { id: string; name: string; teamId: string; policyId: string | null };
type Caller = { principal: Principal; ip: string };
/**
 * Who decided and through which path, for the alert's timeline and the audit log: a signed-in user
 * (API or dashboard), a Slack button, an emailed link, or the source itself.
 */
export type Decider = { by: string; via: 'api' | 'slack' | 'email-link' | 'source'; actor: { id: string; email: string } | null; ip?: string | null; note?: string; data?: Record<string, unknown> };

const sha = (s: string) => createHash('sha256').update(s).digest();
// A source's token, checked on every ingest request: opening its envelope each time would cost more
// than the ingest itself, so its hash is kept a few seconds (a changed token takes effect within them).
const SOURCE_CACHE_MS = 10_000;
const sourceCache = new Map<string, { source: AlertSource; tokenHash: Buffer; until: number }>();

/** The alert-source integration `sourceId` if `token` is its token; otherwise 401 (unknown and wrong look the same). */
export async function authenticateSource(deps: Deps, em: EntityManager, sourceId: string, token: string | null): Promise<AlertSource> {
  if (!token) throw new AuthenticationError('missing bearer token of the alert source');
  let cached = sourceCache.get(sourceId);
  if (!cached || cached.until < Date.now()) {
    const row = await em.findOne(IntegrationSchema, { id: sourceId, type: 'alert-source' }, { populate: ['team'] });
    if (!row) throw new AuthenticationError('unknown alert source or wrong token');
    const teamId = (row.team as unknown as { id: string }).id;
    const loaded = await loadIntegrationSecret(em, deps.keyring, { teamId, integrationId: row.id, type: 'alert-source' });
    cached = { source: { id: row.id, name: row.name, teamId, policyId: (loaded.settings as AlertSourceSettings).policy ?? null }, tokenHash: sha(loaded.secrets.token), until: Date.now() + SOURCE_CACHE_MS };
    sourceCache.set(sourceId, cached);
  }
  if (!timingSafeEqual(cached.tokenHash, sha(token))) throw new AuthenticationError('unknown alert source or wrong token');
  return cached.source;
}

async function policySnapshot(em: EntityManager, source: AlertSource): Promise<PolicySnapshot | null> {
  const policy = source.policyId
    ? await em.findOne(EscalationPolicySchema, { id: source.policyId, team: source.teamId })
    : await em.findOne(EscalationPolicySchema, { team: source.teamId, isDefault: true });
  return policy ? { id: policy.id, version: policy.version, steps: policy.steps, repeat: policy.repeat, ackTimeoutSeconds: policy.ackTimeoutSeconds } : null;
}

async function tellWorkflow(deps: Deps, alertId: string, change: AlertChange): Promise<void> {
  await deps.temporal.workflow
    .getHandle(escalationWorkflowId(alertId))
    .signal(alertChangeSignal, change)
    .catch((err: unknown) => {
      // An escalation that already ended has nothing left to stop.
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    });
}

function escalationStart(alert: Alert) {
  const input: EscalationInput = { alertId: alert.id, teamId: (alert.team as unknown as { id: string }).id, policy: alert.policySnapshot ?? null };
  return { taskQueue: TASK_QUEUES.notifications, workflowId: escalationWorkflowId(alert.id), args: [input] as [EscalationInput] };
}

/**
 * One alert from a source. A firing alert with a dedup key no open alert has opens one and starts its
 * escalation; a repeat is counted on the open one and signalled with start (so an escalation whose
 * start was lost is started by the repeat); a resolve closes it and ends the escalation.
 */
export async function ingestAlert(deps: Deps, em: EntityManager, source: AlertSource, a: GenericAlert): Promise<IngestOutcome> {
  const now = new Date();
  for (let tries = 0; ; tries++) {
    try {
      const result = await em.fork().transactional(async (tx) => {
        const open = await lockOpenAlert(tx, source.teamId, a.dedupKey);
        if (a.status === 'resolved') {
          if (!open) return { outcome: { id: null, dedupKey: a.dedupKey, outcome: 'ignored' as const }, alert: null };
          Object.assign(open, { status: 'resolved', resolvedAt: now, resolvedBy: `source:${source.name}`, lastSeenAt: now });
          appendAlertEvent(tx, open.id, { at: now, type: 'source.resolved', message: `resolved by the source ${source.name}` });
          recordAudit(tx, { actor: null, action: 'alert.resolve', resourceType: 'alert', resourceId: open.id, teamId: source.teamId, data: { by: `source:${source.name}`, via: 'source', source: source.id } });
          return { outcome: { id: open.id, dedupKey: a.dedupKey, outcome: 'resolved' as const }, alert: open };
        }
        if (open) {
          open.count++;
          open.lastSeenAt = now;
          return { outcome: { id: open.id, dedupKey: a.dedupKey, outcome: 'repeated' as const }, alert: open };
        }
        const policy = await policySnapshot(tx, source);
        const alert = tx.create(AlertSchema, {
          id: crypto.randomUUID(), team: tx.getReference(TeamSchema, source.teamId), source: tx.getReference(IntegrationSchema, source.id),
          dedupKey: a.dedupKey, status: 'firing', severity: a.severity, summary: a.summary, details: a.details ?? {}, labels: a.labels ?? {}, count: 1,
          policyId: policy?.id ?? null, policyVersion: policy?.version ?? null, policySnapshot: policy, firstSeenAt: now, lastSeenAt: now,
          acknowledgedAt: null, acknowledgedBy: null, resolvedAt: null, resolvedBy: null,
        });
        appendAlertEvent(tx, alert.id, { at: now, type: 'opened', message: `opened by the source ${source.name}`, data: { severity: a.severity } });
        return { outcome: { id: alert.id, dedupKey: a.dedupKey, outcome: 'opened' as const }, alert };
      });
      const { alert, outcome } = result;
      if (!alert) return outcome;
      const change: AlertChangeKind = outcome.outcome === 'opened' ? 'opened' : outcome.outcome === 'repeated' ? 'repeated' : 'resolved';
      const committed = await alertForAnnouncement(em, alert.id);
      if (committed) await announceAlert(deps, { change, alert: committed });
      if (outcome.outcome === 'resolved') await tellWorkflow(deps, alert.id, { type: 'resolve', by: `source:${source.name}` });
      else if (outcome.outcome === 'repeated') await deps.temporal.workflow.signalWithStart('alertEscalation', { ...escalationStart(alert), signal: alertChangeSignal, signalArgs: [{ type: 'repeat' }] });
      else {
        await deps.temporal.workflow.start('alertEscalation', escalationStart(alert)).catch((err: unknown) => {
          if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
        });
      }
      return outcome;
    } catch (err) {
      // Two first firings at once: the loser of the unique index is a repeat of the winner.
      if (err instanceof UniqueConstraintViolationException && tries < 3) continue;
      throw err;
    }
  }
}

export async function alertsPage(em: EntityManager, principal: Principal, q: Omit<AlertFilter, 'teamIds' | 'before'> & { team?: string; before?: string }) {
  const { rows, nextBefore } = await listAlerts(em, { ...q, teamIds: visibleTeamIds(principal), teamSlug: q.team, before: q.before ? new Date(q.before) : undefined });
  return { alerts: rows.map(toAlertView), nextBefore };
}

async function alertFor(em: EntityManager, principal: Principal, id: string): Promise<Alert> {
  const a = await em.findOne(AlertSchema, { id }, { populate: ['team', 'source'] });
  const visible = visibleTeamIds(principal);
  if (!a || (visible && !visible.includes((a.team as unknown as { id: string }).id))) throw new NotFoundError('alert not found');
  return a;
}

export async function alertDetail(em: EntityManager, principal: Principal, id: string): Promise<AlertDetail> {
  const a = await alertFor(em, principal, id);
  const { events, attempts } = await alertTimeline(em, id);
  return {
    ...toAlertView(a),
    timeline: events.map((e) => ({ at: e.at.toISOString(), type: e.type, message: e.message, data: e.data ?? null })),
    notifications: attempts.map(toAttemptView),
  };
}

/**
 * Records an acknowledgement or resolve on the row with its audit entry (one transaction, whatever
 * path it came by), then tells the escalation (which stops paging at once) and the live views.
 */
export async function decide(deps: Deps, em: EntityManager, alertId: string, action: 'ack' | 'resolve', who: Decider): Promise<Alert> {
  const { by } = who;
  let changed = false;
  const alert = await em.fork().transactional(async (tx) => {
    const a = await tx.findOne(AlertSchema, { id: alertId }, { populate: ['team', 'source'], lockMode: LockMode.PESSIMISTIC_WRITE });
    if (!a) throw new NotFoundError('alert not found');
    if (a.status === 'resolved') throw new ConflictError('the alert is already resolved', { alertStatus: a.status });
    if (action === 'ack' && a.status === 'acknowledged') return a;
    changed = true;
    const now = new Date();
    if (action === 'ack') Object.assign(a, { status: 'acknowledged', acknowledgedAt: now, acknowledgedBy: by });
    else Object.assign(a, { status: 'resolved', resolvedAt: now, resolvedBy: by });
    appendAlertEvent(tx, a.id, { at: now, type: action === 'ack' ? 'ack' : 'resolve', message: `${action === 'ack' ? 'acknowledged' : 'resolved'} by ${by}${who.note ? `: ${who.note}` : ''}`, data: { by, via: who.via } });
    recordAudit(tx, { actor: who.actor, action: `alert.${action}`, resourceType: 'alert', resourceId: a.id, teamId: (a.team as unknown as { id: string }).id, ip: who.ip ?? null, data: { by, via: who.via, ...(who.note ? { note: who.note } : {}), ...who.data } });
    return a;
  });
  await tellWorkflow(deps, alert.id, action === 'ack' ? { type: 'ack', by } : { type: 'resolve', by });
  if (changed) await announceAlert(deps, { change: action === 'ack' ? 'acknowledged' : 'resolved', alert });
  return alert;
}

export async function decideByUser(deps: Deps, em: EntityManager, caller: Caller, id: string, action: 'ack' | 'resolve', note?: string): Promise<AlertView> {
  const a = await alertFor(em, caller.principal, id);
  assertCan(caller.principal, (a.team as unknown as { id: string }).id, 'alerts:ack', 'alert');
  const { principal, ip } = caller;
  return toAlertView(await decide(deps, em, id, action, { by: principal.email, via: 'api', actor: { id: principal.id, email: principal.email }, ip, ...(note ? { note } : {}) }));
}

/** An emailed acknowledgement link: genuine, unexpired and unused, or it does nothing. */
export async function ackByLink(deps: Deps & { jwtSecret: string }, em: EntityManager, token: string, ip: string): Promise<AlertView> {
  const claims = verifyAckLink(deps.jwtSecret, token);
  if (!claims) throw new InputError('not a valid acknowledgement link', [{ field: 'token', message: 'forged, damaged or expired' }]);
  const used = await useAckLink(em.fork(), claims.link);
  if (!used || used.alertId !== claims.alert) throw new ConflictError('this acknowledgement link was already used or has expired');
  // The recipient is usually a member (notify_users, notify_oncall); a channel's fixed address is not.
  const user = await em.findOne(UserSchema, { email: used.recipient });
  const actor = user ? { id: user.id, email: user.email } : null;
  return toAlertView(await decide(deps, em, used.alertId, 'ack', { by: `${used.recipient} (email link)`, via: 'email-link', actor, ip, data: { recipient: used.recipient, link: claims.link } }));
}
