import { z } from 'zod';
import {
  createIntegrationRequestSchema,
  integrationListSchema,
  integrationViewSchema,
  listIntegrationsQuerySchema,
  updateIntegrationRequestSchema,
} from '../../contracts/integrations/index.ts';
import type { OpenApiBuilder, OperationSpec } from './builder.ts';

const integrationTypeListSchema = z.object({
  types: z.array(z.object({ type: z.string(), title: z.string(), settingsSchema: z.record(z.string(), z.unknown()), secretsSchema: z.record(z.string(), z.unknown()) })),
});
const id = z.object({ id: z.uuid() });

/** The integrations router's operations (api/routes/integrations.ts), from the schemas it validates with. */
export const integrationOps: OperationSpec[] = [
  { method: 'get', path: '/api/v1/integration-types', operationId: 'listIntegrationTypes', tag: 'integrations', summary: 'Integration types and the JSON Schemas of their settings and secrets', responses: { 200: { description: 'the types', schema: 'IntegrationTypeList' } } },
  { method: 'get', path: '/api/v1/integrations', operationId: 'listIntegrations', tag: 'integrations', summary: 'Integrations of the teams the caller can see (metadata only), by name', query: listIntegrationsQuerySchema, responses: { 200: { description: 'a page of integrations', schema: 'IntegrationList' } }, errors: [400] },
  { method: 'post', path: '/api/v1/integrations', operationId: 'createIntegration', tag: 'integrations', summary: 'Store a team’s credentials (integrations:manage); secrets are encrypted and never returned', body: 'CreateIntegrationRequest', responses: { 201: { description: 'the integration', schema: 'Integration' } }, errors: [400, 403, 404, 409] },
  { method: 'get', path: '/api/v1/integrations/{id}', operationId: 'getIntegration', tag: 'integrations', summary: 'One integration (metadata and key fingerprint only)', params: id, responses: { 200: { description: 'the integration', schema: 'Integration' } }, errors: [404] },
  { method: 'patch', path: '/api/v1/integrations/{id}', operationId: 'updateIntegration', tag: 'integrations', summary: 'Rename, change settings or replace the secrets (integrations:manage)', params: id, body: 'UpdateIntegrationRequest', responses: { 200: { description: 'the integration', schema: 'Integration' } }, errors: [400, 403, 404, 409] },
  { method: 'delete', path: '/api/v1/integrations/{id}', operationId: 'deleteIntegration', tag: 'integrations', summary: 'Delete an integration no active run uses (integrations:manage)', params: id, responses: { 204: { description: 'deleted' } }, errors: [403, 404, 409] },
];

export function integrationSchemas(b: OpenApiBuilder): OpenApiBuilder {
  return b
    .schema('CreateIntegrationRequest', createIntegrationRequestSchema, 'input')
    .schema('UpdateIntegrationRequest', updateIntegrationRequestSchema, 'input')
    .schema('Integration', integrationViewSchema, 'output')
    .schema('IntegrationList', integrationListSchema, 'output')
    .schema('IntegrationTypeList', integrationTypeListSchema, 'output');
}
