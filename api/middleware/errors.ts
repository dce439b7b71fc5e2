import type Koa from 'koa';
import { ZodError } from 'zod';
import { DomainError, InputError, RetryLaterError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { outageOf } from '../../core/outages.ts';

/** zod issues → field errors; the path is the field name clients show the message next to. */
export function inputErrorFrom(err: ZodError, prefix = ''): InputError {
  const field = (path: PropertyKey[]) => [prefix, ...path.map(String)].filter(Boolean).join('.') || '(body)';
  const errors = err.issues.flatMap((i) =>
    // A strict object names the keys it does not know: each is its own field.
    i.code === 'unrecognized_keys'
      ? i.keys.map((key) => ({ field: field([...i.path, key]), message: 'unknown field' }))
      : // A bad record key (a file or variable name) says only "Invalid key in record"; the key schema's
        // own message is the useful one.
        [{ field: field(i.path), message: i.code === 'invalid_key' && i.issues[0] ? `${i.issues[0].message}` : i.message }],
  );
  return new InputError('request validation failed', errors);
}

/** RFC 9457's members: an error's extra fields add to them and never replace them (a run's status is `runStatus`). */
const PROBLEM_MEMBERS = new Set(['type', 'title', 'status', 'detail', 'instance']);
const extraMembers = (extra: Record<string, unknown>) => Object.fromEntries(Object.entries(extra).filter(([k]) => !PROBLEM_MEMBERS.has(k)));

/**
 * The one error path: typed errors become RFC 9457 problem+json; an unreachable dependency becomes a
 * 503 with Retry-After; anything else is a 500 whose details stay in the log.
 */
export function errorMapper(logger: Logger): Koa.Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new DomainError(404, 'Not found', `no route for ${ctx.method} ${ctx.path}`);
    } catch (raw) {
      const err = raw instanceof ZodError ? inputErrorFrom(raw) : raw instanceof DomainError ? raw : (outageOf(raw) ?? exposedHttpError(raw) ?? raw);
      const known = err instanceof DomainError;
      const status = known ? err.status : 500;
      if (!known) logger.error({ err, path: ctx.path, requestId: ctx.state.requestId }, 'request failed');
      else if (status === 503) logger.warn({ err: raw, path: ctx.path, requestId: ctx.state.requestId }, 'dependency unavailable');
      if (err instanceof RetryLaterError) ctx.set('Retry-After', String(err.retryAfterSeconds));
      ctx.status = status;
      ctx.type = 'application/problem+json';
      ctx.body = {
        type: 'about:blank',
        title: known ? err.title : 'Internal Server Error',
        status,
        detail: known ? err.message : 'an unexpected error occurred',
        instance: ctx.path,
        ...(known ? extraMembers(err.extra) : {}),
      };
    }
  };
}

/** Errors thrown by Koa middleware (a path @koa/send refuses) carry an expose-able 4xx status. */
function exposedHttpError(err: unknown): DomainError | null {
  const e = err as { status?: number; expose?: boolean; message?: string };
  return typeof e?.status === 'number' && e.status >= 400 && e.status < 500 && e.expose ? new DomainError(e.status, 'Bad request', e.message ?? 'bad request') : null;
}

/**
 * What Koa reports after the error mapper had its turn: a response body's stream failing, usually the
 * client going away mid-answer. Without a listener Koa prints the raw stack to stderr, past the
 * structured logger; a client that left is routine (debug), anything else is an error of ours.
 */
export function logStreamErrors(app: { on(event: 'error', listener: (err: unknown, ctx?: Koa.Context) => void): unknown }, logger: Logger): void {
  app.on('error', (err: unknown, ctx?: Koa.Context) => {
    const code = (err as { code?: string } | undefined)?.code;
    const where = { path: ctx?.path, requestId: (ctx?.state as { requestId?: string } | undefined)?.requestId };
    if (code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ECONNRESET') logger.debug({ ...where, code }, 'client went away mid-answer');
    else logger.error({ err, ...where }, 'answer failed after it began');
  });
}
