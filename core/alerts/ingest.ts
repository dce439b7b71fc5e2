import type { Client } from '@temporalio/client';
import type { EntityManager } from '@mikro-orm/postgresql';
import { alertChangeSignal, type EscalationInput } from '../../contracts/alerts/escalation.ts';
import type { GenericAlert, IngestOutcome } from '../../contracts/alerts/index.ts';
import { appendAlertEvent, lockOpenAlert, upsertFiringAlert } from '../../db/repositories/alerts.ts';
import { recordAudit } from '../../db/repositories/audit.ts';
import { alertForAnnouncement, announceAlert, publishAlert, type AlertAnnouncer } from './announce.ts';
import { escalationStartOptions, ignoreStarted, markDecision, startEscalation, tellWorkflow, type EscalationOutbox } from './escalation-start.ts';
import { recordView } from './views.ts';

/**
 * With `escalations` (the API), an opened alert's escalation starts after the caller has its answer;
 * without (a scan's activity raising an alert), before it returns.
 */
type Deps = { temporal: Client; escalations?: Pick<EscalationOutbox, 'kick'> } & AlertAnnouncer;
/** Where an alert comes from: an alert-source integration of a team (an HTTP sender, or a scan naming one). */
export type AlertSource = { id: string; name: string; teamId: string; teamSlug: string; policyId: string | null };

/**
 * One alert from a source. A firing alert with a dedup key no open alert has opens one and starts its
 * escalation (queued with the row: see escalation-start.ts); a repeat is counted on the open one and
 * signalled with start (so an escalation whose start was lost is started by the repeat); a resolve
 * closes it and ends the escalation.
 */
export async function ingestAlert(deps: Deps, em: EntityManager, source: AlertSource, a: GenericAlert): Promise<IngestOutcome> {
  return a.status === 'resolved' ? resolveFromSource(deps, em, source, a) : fireFromSource(deps, em, source, a);
}

async function fireFromSource(deps: Deps, em: EntityManager, source: AlertSource, a: GenericAlert): Promise<IngestOutcome> {
  // Also the opened row's escalation mark, which its start clears (and no later one).
  const at = new Date();
  const { alert, opened } = await upsertFiringAlert(em, {
    id: crypto.randomUUID(), teamId: source.teamId, sourceId: source.id, policyId: source.policyId, dedupKey: a.dedupKey, severity: a.severity,
    summary: a.summary, details: a.details ?? {}, labels: a.labels ?? {}, at, openedMessage: `opened by the source ${source.name}`,
  });
  const input: EscalationInput = { alertId: alert.id, teamId: alert.teamId, policy: alert.policySnapshot };
  // A repeat racing the alert's resolve finds its escalation completed: nothing is left to count on.
  if (!opened) await deps.temporal.workflow.signalWithStart('alertEscalation', { ...escalationStartOptions(input), signal: alertChangeSignal, signalArgs: [{ type: 'repeat' }] }).catch(ignoreStarted);
  else if (deps.escalations) deps.escalations.kick(input, at);
  else await startEscalation(deps, em, input, at);
  // Paging first, the live views after: they catch up on their next read if this is lost. A repeat
  // from another source of the team shows the source that opened the alert.
  const change = opened ? 'opened' : 'repeated';
  if (alert.sourceId === source.id) await publishAlert(deps, { change, alert: recordView(alert, source.teamSlug, { id: source.id, name: source.name }) });
  else {
    const committed = await alertForAnnouncement(em, alert.id);
    if (committed) await announceAlert(deps, { change, alert: committed });
  }
  return { id: alert.id, dedupKey: a.dedupKey, outcome: change };
}

async function resolveFromSource(deps: Deps, em: EntityManager, source: AlertSource, a: GenericAlert): Promise<IngestOutcome> {
  const now = new Date();
  const open = await em.fork().transactional(async (tx) => {
    const alert = await lockOpenAlert(tx, source.teamId, a.dedupKey);
    if (!alert) return null;
    Object.assign(alert, { status: 'resolved', resolvedAt: now, resolvedBy: `source:${source.name}`, lastSeenAt: now });
    markDecision(alert, now);
    appendAlertEvent(tx, alert.id, { at: now, type: 'source.resolved', message: `resolved by the source ${source.name}` });
    recordAudit(tx, { actor: null, action: 'alert.resolve', resourceType: 'alert', resourceId: alert.id, teamId: source.teamId, data: { by: `source:${source.name}`, via: 'source', source: source.id } });
    return alert;
  });
  if (!open) return { id: null, dedupKey: a.dedupKey, outcome: 'ignored' };
  await tellWorkflow(deps, em, open, { type: 'resolve', by: `source:${source.name}` });
  const committed = await alertForAnnouncement(em, open.id);
  if (committed) await announceAlert(deps, { change: 'resolved', alert: committed });
  return { id: open.id, dedupKey: a.dedupKey, outcome: 'resolved' };
}
