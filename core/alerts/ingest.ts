import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/postgresql';
import { alertChangeSignal, escalationWorkflowId, type AlertChange, type EscalationInput } from '../../contracts/alerts/escalation.ts';
import type { AlertChangeKind, GenericAlert, IngestOutcome, PolicySnapshot } from '../../contracts/alerts/index.ts';
import { AlertSchema, EscalationPolicySchema, IntegrationSchema, TeamSchema, type Alert } from '../../db/entities/index.ts';
import { appendAlertEvent, lockOpenAlert } from '../../db/repositories/alerts.ts';
import { recordAudit } from '../../db/repositories/audit.ts';
import { alertForAnnouncement, announceAlert, type AlertAnnouncer } from './announce.ts';
import { escalationStartOptions, startEscalation, type EscalationOutbox } from './escalation-start.ts';

/**
 * With `escalations` (the API), an opened alert's escalation starts after the caller has its answer;
 * without (a scan's activity raising an alert), before it returns.
 */
type Deps = { temporal: Client; escalations?: Pick<EscalationOutbox, 'kick'> } & AlertAnnouncer;
/** Where an alert comes from: an alert-source integration of a team (an HTTP sender, or a scan naming one). */
export type AlertSource = { id: string; name: string; teamId: string; policyId: string | null };

async function policySnapshot(em: EntityManager, source: AlertSource): Promise<PolicySnapshot | null> {
  const policy = source.policyId
    ? await em.findOne(EscalationPolicySchema, { id: source.policyId, team: source.teamId })
    : await em.findOne(EscalationPolicySchema, { team: source.teamId, isDefault: true });
  return policy ? { id: policy.id, version: policy.version, steps: policy.steps, repeat: policy.repeat, ackTimeoutSeconds: policy.ackTimeoutSeconds } : null;
}

/**
 * Tells an alert's escalation of an ack or resolve. One whose start is still queued (the row as read
 * in the deciding transaction says so) is started with the change, so the change cannot be lost in
 * front of a start that comes after it.
 */
export async function tellWorkflow(deps: { temporal: Client }, em: EntityManager, alert: Alert, change: AlertChange): Promise<void> {
  if (alert.escalationQueuedAt) {
    await deps.temporal.workflow.signalWithStart('alertEscalation', { ...escalationStart(alert), signal: alertChangeSignal, signalArgs: [change] });
    await em.fork().nativeUpdate(AlertSchema, { id: alert.id }, { escalationQueuedAt: null });
    return;
  }
  await deps.temporal.workflow
    .getHandle(escalationWorkflowId(alert.id))
    .signal(alertChangeSignal, change)
    .catch((err: unknown) => {
      // An escalation that already ended has nothing left to stop.
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    });
}

const escalationInput = (alert: Alert): EscalationInput => ({ alertId: alert.id, teamId: (alert.team as unknown as { id: string }).id, policy: alert.policySnapshot ?? null });
const escalationStart = (alert: Alert) => escalationStartOptions(escalationInput(alert));

/**
 * One alert from a source. A firing alert with a dedup key no open alert has opens one and starts its
 * escalation (queued with the row: see escalation-start.ts); a repeat is counted on the open one and signalled with start (so an escalation whose
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
          acknowledgedAt: null, acknowledgedBy: null, resolvedAt: null, resolvedBy: null, escalationQueuedAt: now,
        });
        appendAlertEvent(tx, alert.id, { at: now, type: 'opened', message: `opened by the source ${source.name}`, data: { severity: a.severity } });
        return { outcome: { id: alert.id, dedupKey: a.dedupKey, outcome: 'opened' as const }, alert };
      });
      const { alert, outcome } = result;
      if (!alert) return outcome;
      if (outcome.outcome === 'resolved') await tellWorkflow(deps, em, alert, { type: 'resolve', by: `source:${source.name}` });
      else if (outcome.outcome === 'repeated') await deps.temporal.workflow.signalWithStart('alertEscalation', { ...escalationStart(alert), signal: alertChangeSignal, signalArgs: [{ type: 'repeat' }] });
      else if (deps.escalations) deps.escalations.kick(escalationInput(alert));
      else await startEscalation(deps, em, escalationInput(alert));
      // Paging first, the live views after: they catch up on their next read if this is lost.
      const change: AlertChangeKind = outcome.outcome === 'opened' ? 'opened' : outcome.outcome === 'repeated' ? 'repeated' : 'resolved';
      const committed = await alertForAnnouncement(em, alert.id);
      if (committed) await announceAlert(deps, { change, alert: committed });
      return outcome;
    } catch (err) {
      // Two first firings at once: the loser of the unique index is a repeat of the winner.
      if (err instanceof UniqueConstraintViolationException && tries < 3) continue;
      throw err;
    }
  }
}
