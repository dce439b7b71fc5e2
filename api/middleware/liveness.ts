import type Koa from 'koa';
import type { AppState } from '../context.ts';
import { requestIdOf } from './request-context.ts';

const BODY = JSON.stringify({ status: 'ok' });

/**
 * `GET /health` (liveness) answered before the middleware stack. A probe asks it every few seconds on
 * every pod and it touches nothing, so the stack earns nothing here: no caller to authenticate, no body
 * to parse, no origin to allow (it is not for browsers), no HTML to protect with a CSP; its requests
 * are left out of the request metrics, where they would only swamp the routes people use. It keeps the
 * request id (a probe's line in a proxy log can still be matched) and `no-store`. Other methods fall
 * through to the stack, which answers 405 as for every route. `/health/detailed` stays in the stack.
 */
export function liveness(): Koa.Middleware<AppState> {
  return (ctx, next) => {
    if (ctx.path !== '/health' || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return next();
    ctx.set('X-Request-Id', requestIdOf(ctx));
    ctx.set('Cache-Control', 'no-store');
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.type = 'application/json';
    ctx.body = BODY;
    return Promise.resolve();
  };
}
