import type { AlertView, NotificationAttemptView } from '../../contracts/alerts/index.ts';
import type { Alert } from '../../db/entities/index.ts';
import type { AlertRecord } from '../../db/repositories/alerts.ts';
import type { NotificationAttempt } from '../../db/entities/notification-attempt.ts';

/** The API's shape of an alert row (its team and source populated); also what the `alerts` topic carries. */
export function toAlertView(a: Alert): AlertView {
  const source = a.source as unknown as { id: string; name: string } | null;
  return recordView(a, (a.team as unknown as { slug: string }).slug, source ? { id: source.id, name: source.name } : null);
}

type Nullable = 'policyId' | 'policyVersion' | 'acknowledgedAt' | 'acknowledgedBy' | 'resolvedAt' | 'resolvedBy';
/** What the view shows of a row; the ORM's entity leaves unset nullable columns undefined. */
type Shown = Omit<AlertRecord, 'teamId' | 'sourceId' | 'policySnapshot' | Nullable> & { [K in Nullable]?: AlertRecord[K] };

/** The same view of a row read without the ORM, given its team's slug and its source. */
export function recordView(a: Shown, team: string, source: { id: string; name: string } | null): AlertView {
  return {
    id: a.id,
    team,
    source,
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

export function toAttemptView(n: Pick<NotificationAttempt, 'at' | 'key' | 'attempt' | 'channel' | 'target' | 'status' | 'providerId' | 'error' | 'latencyMs'>): NotificationAttemptView {
  return { at: n.at.toISOString(), key: n.key, attempt: n.attempt, channel: n.channel, target: n.target, status: n.status, providerId: n.providerId ?? null, error: n.error ?? null, latencyMs: n.latencyMs };
}
