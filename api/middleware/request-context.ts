import type Koa from 'koa';
import proxyaddr from 'proxy-addr';
import type { AppDeps, AppState } from '../context.ts';

/** A caller's X-Request-Id is kept only when it is a plain token; anything else is replaced, never echoed. */
const REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

export function requestIdOf(ctx: Koa.Context): string {
  const given = ctx.get('X-Request-Id');
  return REQUEST_ID.test(given) ? given : crypto.randomUUID();
}

/**
 * Per request: the request id; the client address (X-Forwarded-For believed only from TRUSTED_PROXIES,
 * walking from the nearest hop, so a client cannot name its own address); `Cache-Control: no-store` on
 * every API answer (they carry tokens, run files and variables) unless a route chose otherwise; and one
 * deadline for every Temporal call the request makes.
 */
export function requestContext(deps: Pick<AppDeps, 'config' | 'temporal'>): Koa.Middleware<AppState> {
  const trust = proxyaddr.compile(deps.config.TRUSTED_PROXIES);
  return async (ctx, next) => {
    ctx.state.requestId = requestIdOf(ctx);
    ctx.set('X-Request-Id', ctx.state.requestId);
    ctx.request.ip = proxyaddr(ctx.req, trust);
    if (ctx.path.startsWith('/api/')) ctx.set('Cache-Control', 'no-store');
    await deps.temporal.withDeadline(Date.now() + deps.config.TEMPORAL_TIMEOUT_MS, next);
  };
}
