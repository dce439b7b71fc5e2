import type { AlertView, NotificationAttemptView } from '../../contracts/alerts/index.ts';
import type { Alert } from '../../db/entities/index.ts';
import type { NotificationAttempt } from '../../db/entities/notification-attempt.ts';

/** The API's shape of an alert row (its team and source populated); also what the `alerts` topic carries. */
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

export function toAttemptView(n: NotificationAttempt): NotificationAttemptView {
  return { at: n.at.toISOString(), key: n.key, attempt: n.attempt, channel: n.channel, target: n.target, status: n.status, providerId: n.providerId ?? null, error: n.error ?? null, latencyMs: n.latencyMs };
}
