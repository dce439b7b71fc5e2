import type Koa from 'koa';
import type { Metrics } from '../../core/metrics.ts';

/** Labels by matched route pattern (not raw path) so run ids do not explode the series count. */
export function httpMetrics(metrics: Metrics): Koa.Middleware {
  return async (ctx, next) => {
    const end = metrics.httpDuration.startTimer();
    try {
      await next();
    } finally {
      const labels = { method: ctx.method, route: (ctx as { _matchedRoute?: string })._matchedRoute ?? 'unmatched', status: String(ctx.status) };
      end(labels);
      if (ctx.status >= 400) metrics.httpErrors.inc(labels);
    }
  };
}
