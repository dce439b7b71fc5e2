import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { EscalationStep, PolicySnapshot } from './policies.ts';

/**
 * What the escalation workflow (id `alert-<alertId>`, queue `notifications`) starts with. `version`
 * says which way the workflow runs (ESCALATION_VERSION when started today); escalations started
 * before it existed have none and run by the patch markers in their history.
 */
export type EscalationInput = { alertId: string; teamId: string; policy: PolicySnapshot | null; version?: number };
/**
 * 1: a task's timeline entries ride with its first send, targets are a local activity, PagerDuty
 * follows acknowledge and resolve. Carried in the input rather than as patch markers: each marker is
 * also an upsert of the `TemporalChangeVersion` search attribute, a visibility write per patch per
 * escalation on the server, thousands in an alert storm.
 */
export const ESCALATION_VERSION = 1;
export const escalationWorkflowId = (alertId: string) => `alert-${alertId}`;

/**
 * Everything that happens to an open alert reaches its workflow as this one signal (the API records it
 * on the alert row first): a repeat from the source, an acknowledgement, a resolve.
 */
export type AlertChange = { type: 'repeat' } | { type: 'ack'; by: string } | { type: 'resolve'; by: string };
export const alertChangeSignal = defineSignal<[AlertChange]>('alertChange');
export type EscalationState = { phase: 'escalating' | 'acknowledged' | 'exhausted' | 'resolved'; cycle: number; round: number; step: number; repeats: number };
export const escalationStateQuery = defineQuery<EscalationState>('escalationState');

/** One message to one target, named so that a retried or replayed send is recognised as the same one. */
export type NotificationJob = { key: string; integrationId: string; target: string };

/**
 * One timeline entry: `at` is the workflow's time; `reopen` puts an acknowledged alert back to firing
 * (its ack timed out). `key`, given by the workflow (its run and the entry's position), makes the entry
 * written once whichever activity carries it; without one the recording activity keys it.
 */
export type TimelineEntry = { type: string; message: string; at: string; data?: Record<string, unknown>; reopen?: boolean; key?: string };

export type EscalationActivities = {
  /** One entry (escalations started before entries were batched replay with it). */
  recordAlertTimeline(input: { alertId: string } & TimelineEntry): Promise<void>;
  /** The entries one workflow task made, in order, in one transaction. */
  recordAlertTimelineEntries(input: { alertId: string; entries: TimelineEntry[] }): Promise<void>;
  /** Who a notify step reaches now (a schedule's on-call is read at the step's time), as jobs keyed `keyPrefix.n`. */
  resolveStepTargets(input: { alertId: string; teamId: string; step: EscalationStep; keyPrefix: string }): Promise<NotificationJob[]>;
  /**
   * Sends one notification; every attempt is recorded. Skips one already sent, or an alert no longer
   * firing. `timeline`: the entries of the workflow task that asked for it, recorded before the send.
   */
  sendNotification(input: { alertId: string; teamId: string; job: NotificationJob; timeline?: TimelineEntry[] }): Promise<{ status: 'sent' | 'skipped'; providerId: string | null }>;
  /**
   * Carries an acknowledge or resolve to every PagerDuty service this alert triggered an incident on;
   * each is an attempt on record, sent once however often the step is retried. How many were sent.
   */
  followUpPagerDuty(input: { alertId: string; teamId: string; action: 'acknowledge' | 'resolve'; cycle: number }): Promise<number>;
};
