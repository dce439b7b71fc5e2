import { metricsQuerySchema, platformMetricsSchema } from '../../contracts/metrics.ts';
import type { OpenApiBuilder, OperationSpec } from './builder.ts';

/** The metrics router's operations (api/routes/metrics.ts). */
export const metricsOps: OperationSpec[] = [
  { method: 'get', path: '/api/v1/metrics', operationId: 'platformMetrics', tag: 'monitoring', summary: 'The platform’s own figures over the runs of the teams the caller can see: runs per kind and status, durations, runs per day, queue depth (Prometheus scrapes /metrics instead)', query: metricsQuerySchema, responses: { 200: { description: 'the figures', schema: 'PlatformMetrics' } }, errors: [400] },
];

export function metricsSchemas(b: OpenApiBuilder): OpenApiBuilder {
  return b.schema('PlatformMetrics', platformMetricsSchema, 'output');
}
