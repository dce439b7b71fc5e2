import type { IncomingMessage, ServerResponse } from 'node:http';
import type Koa from 'koa';
import helmet, { type HelmetOptions } from 'helmet';

/**
 * Helmet's headers, worked out once: with no per-request directive (no nonces) they are the same for
 * every response, and helmet would otherwise rebuild each of them, the CSP string included, per request.
 */
export function securityHeaders(options: HelmetOptions): Koa.Middleware {
  const headers = new Map<string, string>();
  const res = {
    setHeader: (name: string, value: string | number | readonly string[]) => headers.set(name, String(value)),
    removeHeader: (name: string) => headers.delete(name),
  } as unknown as ServerResponse;
  let called = false;
  helmet(options)({} as IncomingMessage, res, (err?: unknown) => {
    if (err) throw err;
    called = true;
  });
  // Helmet calls back synchronously; if a future version stops doing so these headers would be half set.
  if (!called) throw new Error('helmet did not finish synchronously: its headers cannot be computed once');
  const fixed = [...headers];
  return (ctx, next) => {
    for (const [name, value] of fixed) ctx.set(name, value);
    return next();
  };
}
