import { createHash, timingSafeEqual } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { LockMode, type EntityManager } from '@mikro-orm/postgresql';
import type { AlertDetail, AlertView } from '../../contracts/alerts/index.ts';
import type { AlertSourceSettings } from '../../contracts/integrations/alert-source.ts';
import { verifyAckLink } from '../../core/alerts/ack-links.ts';
import { tellWorkflow, type AlertSource } from '../../core/alerts/ingest.ts';
import { assertCan, visibleTeamIds, type Principal } from '../../core/access.ts';
import { AuthenticationError, ConflictError, InputError, NotFoundError } from '../../core/errors.ts';
import { loadIntegrationSecret } from '../../core/integrations/store.ts';
import type { Keyring } from '../../core/secrets/keyring.ts';
import { AlertSchema, IntegrationSchema, type Alert } from '../../db/entities/index.ts';
import { alertTimeline, appendAlertEvent, listAlerts, useAckLink, type AlertFilter } from '../../db/repositories/alerts.ts';
import { recordAudit } from '../../db/repositories/audit.ts';

type Deps = { temporal: Client; keyring: Keyring };
// Ingest lives in core/ so scans (activities) raise alerts through the same path as the HTTP sources.
export { ingestAlert, type AlertSource } from '../../core/alerts/ingest.ts';
type Caller = { principal: Principal; ip: string };

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

export function toAlertView(a: Alert): AlertView {
  const source = a.source as unknown as { id: string; name: string } | null;
  return {
    id: a.id,
    team: (a.team as unknown as { slug: string }).slug,
    source: source ? { id: source.id, name: source.name } : null,
    dedupKey: a.dedupKey,
    status: a.status,
    severity: a.severity,
    summary: a.summary,
    details: a.details,
    labels: a.labels,
    count: a.count,
    policy: a.policyId && a.policyVersion !== null && a.policyVersion !== undefined ? { id: a.policyId, version: a.policyVersion } : null,
    firstSeenAt: a.firstSeenAt.toISOString(),
    lastSeenAt: a.lastSeenAt.toISOString(),
    acknowledgedAt: a.acknowledgedAt?.toISOString() ?? null,
    acknowledgedBy: a.acknowledgedBy ?? null,
    resolvedAt: a.resolvedAt?.toISOString() ?? null,
    resolvedBy: a.resolvedBy ?? null,
  };
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
    notifications: attempts.map((n) => ({ at: n.at.toISOString(), key: n.key, attempt: n.attempt, channel: n.channel, target: n.target, status: n.status, providerId: n.providerId ?? null, error: n.error ?? null, latencyMs: n.latencyMs })),
  };
}

/** Records an acknowledgement or resolve on the row, then tells the escalation (which stops paging at once). */
export async function decide(deps: Deps, em: EntityManager, alertId: string, action: 'ack' | 'resolve', by: string, audit?: Caller & { note?: string }): Promise<Alert> {
  const alert = await em.fork().transactional(async (tx) => {
    const a = await tx.findOne(AlertSchema, { id: alertId }, { populate: ['team', 'source'], lockMode: LockMode.PESSIMISTIC_WRITE });
    if (!a) throw new NotFoundError('alert not found');
    if (a.status === 'resolved') throw new ConflictError('the alert is already resolved', { alertStatus: a.status });
    if (action === 'ack' && a.status === 'acknowledged') return a;
    const now = new Date();
    if (action === 'ack') Object.assign(a, { status: 'acknowledged', acknowledgedAt: now, acknowledgedBy: by });
    else Object.assign(a, { status: 'resolved', resolvedAt: now, resolvedBy: by });
    appendAlertEvent(tx, a.id, { at: now, type: action === 'ack' ? 'ack' : 'resolve', message: `${action === 'ack' ? 'acknowledged' : 'resolved'} by ${by}${audit?.note ? `: ${audit.note}` : ''}`, data: { by } });
    if (audit) recordAudit(tx, { actor: { id: audit.principal.id, email: audit.principal.email }, action: `alert.${action}`, resourceType: 'alert', resourceId: a.id, teamId: (a.team as unknown as { id: string }).id, ip: audit.ip, ...(audit.note ? { data: { note: audit.note } } : {}) });
    return a;
  });
  await tellWorkflow(deps, alert.id, action === 'ack' ? { type: 'ack', by } : { type: 'resolve', by });
  return alert;
}

export async function decideByUser(deps: Deps, em: EntityManager, caller: Caller, id: string, action: 'ack' | 'resolve', note?: string): Promise<AlertView> {
  const a = await alertFor(em, caller.principal, id);
  assertCan(caller.principal, (a.team as unknown as { id: string }).id, 'alerts:ack', 'alert');
  return toAlertView(await decide(deps, em, id, action, caller.principal.email, { ...caller, ...(note ? { note } : {}) }));
}

/** An emailed acknowledgement link: genuine, unexpired and unused, or it does nothing. */
export async function ackByLink(deps: Deps & { jwtSecret: string }, em: EntityManager, token: string): Promise<AlertView> {
  const claims = verifyAckLink(deps.jwtSecret, token);
  if (!claims) throw new InputError('not a valid acknowledgement link', [{ field: 'token', message: 'forged, damaged or expired' }]);
  const used = await useAckLink(em.fork(), claims.link);
  if (!used || used.alertId !== claims.alert) throw new ConflictError('this acknowledgement link was already used or has expired');
  return toAlertView(await decide(deps, em, used.alertId, 'ack', `${used.recipient} (email link)`));
}
