import type Koa from 'koa';
import { ZodError } from 'zod';
import { DomainError, InputError, RateLimitedError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';

/** zod issues → field errors; the path is the field name clients show the message next to. */
export function inputErrorFrom(err: ZodError, prefix = ''): InputError {
  const errors = err.issues.map((i) => ({
    field: [prefix, ...i.path.map(String)].filter(Boolean).join('.') || '(body)',
    // A bad record key (a file or variable name) says only "Invalid key in record"; the key schema's
    // own message is the useful one.
    message: i.code === 'invalid_key' && i.issues[0] ? `${i.issues[0].message}` : i.message,
  }));
  return new InputError('request validation failed', errors);
}

/**
 * The one error path: typed errors become RFC 9457 problem+json; anything else is a 500 whose details
 * stay in the log.
 */
export function errorMapper(logger: Logger): Koa.Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new DomainError(404, 'Not found', `no route for ${ctx.method} ${ctx.path}`);
    } catch (raw) {
      const err = raw instanceof ZodError ? inputErrorFrom(raw) : raw;
      const known = err instanceof DomainError;
      const status = known ? err.status : httpStatusOf(err);
      if (!known && status >= 500) logger.error({ err, path: ctx.path, requestId: ctx.state.requestId }, 'request failed');
      if (err instanceof RateLimitedError) ctx.set('Retry-After', String(err.retryAfterSeconds));
      ctx.status = status;
      ctx.type = 'application/problem+json';
      ctx.body = {
        type: 'about:blank',
        title: known ? err.title : status >= 500 ? 'Internal Server Error' : 'Bad request',
        status,
        detail: known || status < 500 ? (err as Error).message : 'an unexpected error occurred',
        instance: ctx.path,
        ...(known ? err.extra : {}),
      };
    }
  };
}

/** Errors thrown by Koa middleware (body parser limits, malformed JSON) carry an expose-able status. */
function httpStatusOf(err: unknown): number {
  const e = err as { status?: number; expose?: boolean };
  return typeof e?.status === 'number' && e.expose ? e.status : 500;
}
