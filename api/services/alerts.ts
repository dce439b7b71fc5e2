import { createHash, timingSafeEqual } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { LockMode, type EntityManager } from '@mikro-orm/postgresql';
import type { AlertDetail, AlertView } from '../../contracts/alerts/index.ts';
import type { AlertSourceSettings } from '../../contracts/integrations/alert-source.ts';
import { verifyAckLink } from '../../core/alerts/ack-links.ts';
import { markDecision, tellWorkflow } from '../../core/alerts/escalation-start.ts';
import type { AlertSource } from '../../core/alerts/ingest.ts';
import { announceAlert, type AlertAnnouncer } from '../../core/alerts/announce.ts';
import { toAlertView, toAttemptView } from '../../core/alerts/views.ts';
import { assertCan, visibleTeamIds, type Principal } from '../../core/access.ts';
import { AuthenticationError, ConflictError, InputError, NotFoundError } from '../../core/errors.ts';
import { loadIntegrationSecret } from '../../core/integrations/store.ts';
import type { Keyring } from '../../core/secrets/keyring.ts';
import { AlertSchema, IntegrationSchema, MembershipSchema, type Alert } from '../../db/entities/index.ts';
import { alertTimeline, appendAlertEvent, listAlerts, useAckLink, type AlertFilter } from '../../db/repositories/alerts.ts';
import { recordAudit } from '../../db/repositories/audit.ts';

type Deps = { temporal: Client; keyring: Keyring } & AlertAnnouncer;
type Caller = { principal: Principal; ip: string };
/**
 * Who decided and through which path, for the alert's timeline and the audit log: a signed-in user
 * (API or dashboard), a Slack button, an emailed link, an SMS reply, or the source itself.
 */
export type Decider = { by: string; via: 'api' | 'slack' | 'email-link' | 'sms' | 'source'; actor: { id: string; email: string } | null; ip?: string | null; note?: string; data?: Record<string, unknown> };

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
    const team = row.team as unknown as { id: string; slug: string };
    const loaded = await loadIntegrationSecret(em, deps.keyring, { teamId: team.id, integrationId: row.id, type: 'alert-source' });
    cached = { source: { id: row.id, name: row.name, teamId: team.id, teamSlug: team.slug, policyId: (loaded.settings as AlertSourceSettings).policy ?? null }, tokenHash: sha(loaded.secrets.token), until: Date.now() + SOURCE_CACHE_MS };
    sourceCache.set(sourceId, cached);
  }
  if (!timingSafeEqual(cached.tokenHash, sha(token))) throw new AuthenticationError('unknown alert source or wrong token');
  return cached.source;
}

// Ingest lives in core/ so scans (activities) raise alerts through the same path as the HTTP sources.
export { ingestAlert, type AlertSource } from '../../core/alerts/ingest.ts';

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
 * path it came by), then tells the escalation (which stops paging at once) and the live views. A
 * decider given as a function runs first in that transaction: what it spends (a single-use link or
 * code) stays unspent unless the decision commits.
 */
export async function decide(deps: Deps, em: EntityManager, alertId: string, action: 'ack' | 'resolve', decider: Decider | ((tx: EntityManager) => Promise<Decider>)): Promise<Alert> {
  let changed = false;
  let by = '';
  const alert = await em.fork().transactional(async (tx) => {
    const who = typeof decider === 'function' ? await decider(tx) : decider;
    by = who.by;
    const a = await tx.findOne(AlertSchema, { id: alertId }, { populate: ['team', 'source'], lockMode: LockMode.PESSIMISTIC_WRITE });
    if (!a) throw new NotFoundError('alert not found');
    if (a.status === 'resolved') throw new ConflictError('the alert is already resolved', { alertStatus: a.status });
    // An ack of an acknowledged alert changes nothing here, but is on record: it may have raced the ack
    // timeout, and the escalation, which takes it, must not find the alert reopened under it.
    const again = action === 'ack' && a.status === 'acknowledged';
    changed = !again;
    const now = new Date();
    if (!again) Object.assign(a, action === 'ack' ? { status: 'acknowledged', acknowledgedAt: now, acknowledgedBy: by } : { status: 'resolved', resolvedAt: now, resolvedBy: by });
    markDecision(a, now);
    const verb = again ? 'acknowledged again' : action === 'ack' ? 'acknowledged' : 'resolved';
    appendAlertEvent(tx, a.id, { at: now, type: action === 'ack' ? 'ack' : 'resolve', message: `${verb} by ${by}${who.note ? `: ${who.note}` : ''}`, data: { by, via: who.via } });
    recordAudit(tx, { actor: who.actor, action: `alert.${action}`, resourceType: 'alert', resourceId: a.id, teamId: (a.team as unknown as { id: string }).id, ip: who.ip ?? null, data: { by, via: who.via, ...(who.note ? { note: who.note } : {}), ...who.data } });
    return a;
  });
  await tellWorkflow(deps, em, alert, action === 'ack' ? { type: 'ack', by } : { type: 'resolve', by });
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
  return toAlertView(await decide(deps, em, claims.alert, 'ack', async (tx) => {
    const used = await useAckLink(tx, claims.link);
    if (!used || used.alertId !== claims.alert) throw new ConflictError('this acknowledgement link was already used or has expired');
    // The recipient is usually a member (notify_users, notify_oncall); a channel's fixed address is not,
    // and may even be the address of a user of another team: the link acts for whoever holds it, so it
    // is put on a user's name only when that user is a member of the alert's team.
    const alert = await tx.findOne(AlertSchema, { id: used.alertId }, { fields: ['team'] });
    const member = alert && (await tx.findOne(MembershipSchema, { team: (alert.team as unknown as { id: string }).id, user: { email: used.recipient } }, { populate: ['user'] }));
    const user = member?.user as unknown as { id: string; email: string } | undefined;
    const actor = user ? { id: user.id, email: user.email } : null;
    return { by: `${used.recipient} (email link)`, via: 'email-link', actor, ip, data: { recipient: used.recipient, link: claims.link } };
  }));
}
