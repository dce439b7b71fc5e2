import type { AlertView, NotificationAttemptView } from './views.ts';

/** What changed about an alert, as the WebSocket `alerts` topic tells it. */
export const ALERT_CHANGES = ['opened', 'repeated', 'acknowledged', 'resolved', 'reopened', 'timeline', 'notification'] as const;
export type AlertChangeKind = (typeof ALERT_CHANGES)[number];

/**
 * Published on the `alerts` channel after every change is committed, and forwarded over /ws to the
 * sockets whose user may read the alert's team. `alert` is the row as it is now, so a list updates
 * itself; `timeline` / `notification` carry the entry that was just recorded.
 */
export type AlertAnnouncement = {
  change: AlertChangeKind;
  alert: AlertView;
  timeline?: { at: string; type: string; message: string; data: Record<string, unknown> | null };
  notification?: NotificationAttemptView;
};
