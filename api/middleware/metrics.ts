import type Koa from 'koa';
import { context } from '@opentelemetry/api';
import { RPCType, getRPCMetadata } from '@opentelemetry/core';
import type { Metrics } from '../../core/metrics.ts';

/** Labels by matched route pattern (not raw path) so run ids do not explode the series count. */
export function httpMetrics(metrics: Metrics): Koa.Middleware {
  return async (ctx, next) => {
    const end = metrics.httpDuration.startTimer();
    try {
      await next();
    } finally {
      const matched = (ctx as { _matchedRoute?: string })._matchedRoute;
      const labels = { method: ctx.method, route: matched ?? 'unmatched', status: String(ctx.status) };
      // The same route names the request's trace span ("POST /api/v1/runs"); a no-op when tracing is off.
      const rpc = getRPCMetadata(context.active());
      if (matched && rpc?.type === RPCType.HTTP) rpc.route = matched;
      end(labels);
      if (ctx.status >= 400) metrics.httpErrors.inc(labels);
    }
  };
}
