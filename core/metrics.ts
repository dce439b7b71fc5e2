import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type Metrics = ReturnType<typeof createMetrics>;

/** One registry per process (tests build several apps in one process, so never the global one). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpDuration: new Histogram({
      name: 'opssight_http_request_duration_seconds',
      help: 'HTTP request duration by route and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    httpErrors: new Counter({
      name: 'opssight_http_errors_total',
      help: 'HTTP responses with status >= 400',
      labelNames: ['method', 'route', 'status'] as const,
      registers: [registry],
    }),
    wsConnections: new Gauge({ name: 'opssight_ws_connections', help: 'open WebSocket connections', registers: [registry] }),
    wsMessages: new Counter({
      name: 'opssight_ws_messages_total',
      help: 'WebSocket messages sent to clients',
      registers: [registry],
    }),
    wsDisconnects: new Counter({
      name: 'opssight_ws_disconnects_total',
      help: 'WebSocket connections the server ended, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    runsStarted: new Counter({
      name: 'opssight_runs_started_total',
      help: 'runs started through the API by kind',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    runOutcomes: new Counter({
      name: 'opssight_run_outcomes_total',
      help: 'runs that ended, by kind and final status (counted by the worker that recorded the end)',
      labelNames: ['kind', 'status'] as const,
      registers: [registry],
    }),
    cacheRequests: new Counter({
      name: 'opssight_cache_requests_total',
      help: 'two-level cache lookups by cache and where they were answered (l1 memory, l2 Redis, miss)',
      labelNames: ['cache', 'result'] as const,
      registers: [registry],
    }),
    cachePromotions: new Counter({
      name: 'opssight_cache_promotions_total',
      help: 'values found in Redis (L2) and copied into this process memory (L1)',
      labelNames: ['cache'] as const,
      registers: [registry],
    }),
    cacheInvalidations: new Counter({ name: 'opssight_cache_invalidated_tags_total', help: 'cache tags invalidated by this process', registers: [registry] }),
    activityDuration: new Histogram({
      name: 'opssight_activity_duration_seconds',
      help: 'activity executions by name and outcome',
      labelNames: ['activity', 'outcome'] as const,
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 1800],
      registers: [registry],
    }),
  };
}
