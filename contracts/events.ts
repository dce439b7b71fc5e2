import { z } from 'zod';
import type { AlertAnnouncement } from './alerts/live.ts';

export const RUN_EVENT_TYPES = ['log', 'step', 'status', 'approval', 'notification', 'metric'] as const;
export const runEventTypeSchema = z.enum(RUN_EVENT_TYPES);
export type RunEventType = z.infer<typeof runEventTypeSchema>;

export const runEventSchema = z.object({
  runId: z.string(),
  seq: z.number().int().positive(),
  ts: z.string(),
  type: runEventTypeSchema,
  level: z.enum(['debug', 'info', 'warn', 'error']),
  stream: z.enum(['stdout', 'stderr']).optional(),
  message: z.string(),
  data: z.record(z.string(), z.unknown()).optional(),
  attempt: z.number().int(),
});
export type RunEvent = z.infer<typeof runEventSchema>;

/** What an emitter hands the event store; the store assigns `seq` and `ts`. */
export type NewRunEvent = Omit<RunEvent, 'runId' | 'seq' | 'ts'> & { ts?: string };

export const listEventsQuerySchema = z.object({
  after: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(5000).default(500),
});

/**
 * Messages a browser sends over /ws. A plain union (not discriminated on `op`): two shapes share
 * `op: "subscribe"`, told apart by `runId` versus `topic`.
 */
export const wsClientMessageSchema = z.union([
  z.object({ op: z.literal('subscribe'), runId: z.string(), after: z.number().int().min(0).default(0) }),
  z.object({ op: z.literal('subscribe'), topic: z.enum(['runs', 'alerts']) }),
  z.object({ op: z.literal('unsubscribe'), runId: z.string() }),
  z.object({ op: z.literal('unsubscribe'), topic: z.enum(['runs', 'alerts']) }),
]);
export type WsClientMessage = z.infer<typeof wsClientMessageSchema>;
/** The list-level topics a socket can join: run changes and alert changes of the teams the user sees. */
export type WsTopic = 'runs' | 'alerts';

/** What the worker PUBLISHes on the `runs` channel on every status change, and /ws forwards. */
export type RunAnnouncement = { id: string; status: string; kind: string; team: string; target: string | null; step?: string | null };

/** Close codes /ws uses beyond the RFC 6455 ones. */
// 4001: the socket's credentials no longer hold (expired or revoked); the client signs in again or
// refreshes, then reconnects with `after`.
export const WS_CLOSE = { tokenExpired: 4001, tokenRevoked: 4001, slowConsumer: 4008 } as const;

/** Messages the server sends over /ws. */
export type WsServerMessage =
  | { op: 'event'; event: RunEvent }
  | { op: 'subscribed'; runId: string; after: number }
  | { op: 'subscribed'; topic: WsTopic }
  | { op: 'unsubscribed'; runId: string }
  | { op: 'unsubscribed'; topic: WsTopic }
  | { op: 'run'; run: RunAnnouncement }
  | ({ op: 'alert' } & AlertAnnouncement)
  /** `retry`: the failure was the server's (a database or Redis hiccup); subscribing again may succeed. */
  | { op: 'error'; message: string; runId?: string; topic?: WsTopic; retry?: true };
