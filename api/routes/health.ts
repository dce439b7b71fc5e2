import Router from '@koa/router';
import type { AppDeps, AppRouter, AppState } from '../context.ts';

export type DependencyCheck = { status: 'up' | 'down'; latencyMs: number; error?: string };

/** A dependency that does not answer within this is reported down rather than hanging the probe. */
const CHECK_TIMEOUT_MS = 2_000;

async function check(probe: () => Promise<unknown>): Promise<DependencyCheck> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
      }),
    ]);
    return { status: 'up', latencyMs: Math.round((performance.now() - started) * 100) / 100 };
  } catch (err) {
    // The error class and message name the failure (refused, timeout) without internals like URLs with credentials.
    const error = err instanceof Error ? `${err.name}: ${err.message}`.replace(/\w+:\/\/\S+/g, '<url>') : 'failed';
    return { status: 'down', latencyMs: Math.round((performance.now() - started) * 100) / 100, error };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `/health` is liveness only (the process answers; no dependency is touched, so an outage of one
 * does not get every API pod restarted). `/health/detailed` is readiness: 503 when any is down.
 */
export function healthRoutes(deps: AppDeps): AppRouter {
  const router = new Router<AppState>();

  // Answered by api/middleware/liveness.ts before the stack; here for the 405 on other methods and the OpenAPI check.
  router.get('/health', (ctx) => {
    ctx.body = { status: 'ok' };
  });

  router.get('/health/detailed', async (ctx) => {
    const [postgres, redis, temporal] = await Promise.all([
      check(() => deps.db.em.fork().execute('select 1')),
      check(() => deps.redis.ping()),
      check(() => deps.temporal.workflowService.getSystemInfo({})),
    ]);
    const checks = { postgres, redis, temporal };
    const up = Object.values(checks).every((c) => c.status === 'up');
    ctx.status = up ? 200 : 503;
    if (!up) ctx.set('Retry-After', '5');
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { status: up ? 'ok' : 'degraded', checks };
  });

  if (deps.config.METRICS_ENABLED) {
    router.get('/metrics', async (ctx) => {
      ctx.type = deps.metrics.registry.contentType;
      ctx.body = await deps.metrics.registry.metrics();
    });
    // This process's two-level cache by cache name: answered from memory (l1), from Redis (l2, then
    // promoted into memory), or by the source (miss). Counts only, no keys. Also in /metrics.
    router.get('/cache/metrics', (ctx) => {
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { caches: deps.cache.counters() };
    });
  }

  return router;
}
