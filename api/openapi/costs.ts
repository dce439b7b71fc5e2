import { costOverviewSchema, costsQuerySchema, findingListSchema, findingPathSchema, findingsQuerySchema } from '../../contracts/costs.ts';
import type { OpenApiBuilder, OperationSpec } from './builder.ts';

/** The costs router's operations (api/routes/costs.ts). */
export const costOps: OperationSpec[] = [
  { method: 'get', path: '/api/v1/costs', operationId: 'costOverview', tag: 'costs', summary: 'Latest spend per account (cost-scan runs) and trends by day, service, team and account', query: costsQuerySchema, responses: { 200: { description: 'totals and trends', schema: 'CostOverview' } }, errors: [400] },
  { method: 'get', path: '/api/v1/costs/findings', operationId: 'listCostFindings', tag: 'costs', summary: 'Waste the cost scans found, newest first', query: findingsQuerySchema, responses: { 200: { description: 'a page of findings', schema: 'CostFindingList' } }, errors: [400] },
  { method: 'post', path: '/api/v1/costs/findings/{id}/fix', operationId: 'fixCostFinding', tag: 'costs', summary: 'Start the cost-action run that fixes a finding (it waits for approval)', params: findingPathSchema, responses: { 201: { description: 'the run, awaiting approval', schema: 'Run' } }, errors: [403, 404, 409] },
];

export function costSchemas(b: OpenApiBuilder): OpenApiBuilder {
  return b.schema('CostOverview', costOverviewSchema, 'output').schema('CostFindingList', findingListSchema, 'output');
}
