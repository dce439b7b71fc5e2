import { DriverException } from '@mikro-orm/core';
import { ServiceError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { UnavailableError } from './errors.ts';

/** Node socket errors: the peer refused, dropped or never answered the connection. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
/** PostgreSQL SQLSTATEs of a server that is shutting down, starting up or lost the connection (classes 08 and 57P). */
const POSTGRES_DOWN = /^(08...|57P0[1-3])$/;
/** What `pg` says when its pool or a client loses the server (no SQLSTATE then). */
const PG_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|not queryable|Query read timeout/i;
/** What ioredis says when it fails fast (offline queue off, commandTimeout) instead of queueing. */
const REDIS_MESSAGES = /Stream isn't writeable|Connection is closed|Command timed out|Reached the max retries per request/i;
/** gRPC UNAVAILABLE and DEADLINE_EXCEEDED: the Temporal frontend is down or did not answer before the request's deadline. */
const GRPC_DOWN = new Set([4, 14]);

const causes = (err: unknown): unknown[] => {
  const chain: unknown[] = [];
  for (let e = err; e && chain.length < 5; e = (e as { cause?: unknown }).cause) chain.push(e);
  return chain;
};

/**
 * Recognises an error that means a dependency is unreachable (refused, dropped, timed out) and returns
 * the 503 it should become; null for every other error, which stays a real failure (500).
 */
export function outageOf(err: unknown): UnavailableError | null {
  if (err instanceof UnavailableError) return err;
  for (const e of causes(err)) {
    if (!(e instanceof Error)) continue;
    const { code } = e as { code?: unknown };
    if (e instanceof DriverException || PG_MESSAGES.test(e.message)) {
      if (PG_MESSAGES.test(e.message) || (typeof code === 'string' && (SOCKET_CODES.has(code) || POSTGRES_DOWN.test(code)))) return new UnavailableError('PostgreSQL');
    }
    if (REDIS_MESSAGES.test(e.message) || e.name === 'MaxRetriesPerRequestError') return new UnavailableError('Redis');
    if (e instanceof WorkflowUpdateRPCTimeoutOrCancelledError) return new UnavailableError('Temporal');
    if (e instanceof ServiceError && GRPC_DOWN.has((e.cause as { code?: unknown } | undefined)?.code as number)) return new UnavailableError('Temporal');
  }
  return null;
}
