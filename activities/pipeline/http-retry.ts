import { ApplicationFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import { FAILURE_TYPES } from '../../contracts/temporal.ts';

/** An error the CI system answered with: its status, its own message, and when it says to come back. */
export type CiAnswer = { status: number; message: string; retryAfterMs?: number };

/** How long one request to a CI system may take before it is given up (and treated as unanswered). */
export const REQUEST_TIMEOUT_MS = 30_000;

/** Attempts at one call within an activity attempt before it gives up (and Temporal retries later). */
const TRIES = 6;
const MAX_WAIT_MS = 60_000;

/** The final failure of a run: the integration, the call, and what the CI system said (never a credential). */
export const pipelineFailure = (message: string) => ApplicationFailure.create({ message, type: FAILURE_TYPES.pipeline, nonRetryable: true });

/**
 * Calls the CI system. 429 means the request was not carried out, and so (for a request that reads
 * or stops something) does a 5xx: the call is repeated after the `retry-after` the answer gives, else
 * with backoff (a request that creates a build, `creates`, is not repeated on a 5xx).
 * A refusal that another try will not change (401, 403, 404, 422, other 4xx) fails the run at once,
 * naming the integration. Anything else (the connection dropped, no answer) is thrown as it is: the
 * request may have been carried out, and only the caller knows how to find out.
 */
export async function callCi<T>(what: string, integration: string, answerOf: (err: unknown) => CiAnswer | undefined, fn: () => Promise<T>, opts: { creates?: boolean } = {}): Promise<T> {
  const ctx = Context.current();
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const answer = answerOf(err);
      if (!answer) throw err;
      // A request that creates a build is never sent again on a 5xx: a proxy's 502 or 504 can come after
      // the build was made. It counts as unanswered, and the next attempt looks for the build first.
      if (opts.creates && answer.status >= 500) throw new Error(`${integration}: ${what} answered ${answer.status}; whether it was carried out is not known`, { cause: err });
      const transient = answer.status === 429 || answer.status >= 500 || (answer.status === 403 && answer.retryAfterMs !== undefined);
      if (!transient) throw pipelineFailure(`${integration}: ${what} answered ${answer.status}: ${answer.message}`);
      if (attempt >= TRIES) throw ApplicationFailure.create({ message: `${integration}: ${what} answered ${answer.status}: ${answer.message}`, type: 'CiUnavailable' });
      const wait = Math.min(answer.retryAfterMs ?? 500 * 2 ** (attempt - 1), MAX_WAIT_MS);
      ctx.heartbeat();
      await ctx.sleep(wait);
    }
  }
}

/** `retry-after` in seconds (or an HTTP date), else GitHub's `x-ratelimit-reset` when no requests remain. */
export function retryAfterMs(headers: Record<string, string | string[] | undefined> | undefined): number | undefined {
  if (!headers) return undefined;
  const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
  const after = one(headers['retry-after']);
  if (after !== undefined) {
    const s = Number(after);
    if (Number.isFinite(s)) return Math.max(0, s * 1000);
    const at = Date.parse(after);
    if (Number.isFinite(at)) return Math.max(0, at - Date.now());
  }
  if (one(headers['x-ratelimit-remaining']) === '0') {
    const reset = Number(one(headers['x-ratelimit-reset']));
    if (Number.isFinite(reset)) return Math.max(0, reset * 1000 - Date.now());
  }
  return undefined;
}
