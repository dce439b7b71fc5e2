import { checkStatusListSchema, monitoringQuerySchema, transitionListSchema, transitionsQuerySchema } from '../../contracts/monitoring.ts';
import type { OpenApiBuilder, OperationSpec } from './builder.ts';

/** The monitoring router's operations (api/routes/monitoring.ts). */
export const monitoringOps: OperationSpec[] = [
  { method: 'get', path: '/api/v1/monitoring', operationId: 'listCheckStatus', tag: 'monitoring', summary: 'Each health check’s current status (from health-scan runs) in the teams the caller can see', query: monitoringQuerySchema, responses: { 200: { description: 'the checks', schema: 'CheckStatusList' } }, errors: [400] },
  { method: 'get', path: '/api/v1/monitoring/transitions', operationId: 'listCheckTransitions', tag: 'monitoring', summary: 'When checks went down and came back, newest first', query: transitionsQuerySchema, responses: { 200: { description: 'the transitions', schema: 'TransitionList' } }, errors: [400] },
];

export function monitoringSchemas(b: OpenApiBuilder): OpenApiBuilder {
  return b.schema('CheckStatusList', checkStatusListSchema, 'output').schema('TransitionList', transitionListSchema, 'output');
}
