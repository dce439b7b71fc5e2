import { z } from 'zod';
import { listEventsQuerySchema, runEventSchema } from '../../contracts/events.ts';
import { KINDS } from '../../contracts/kinds/index.ts';
import { cancelRequestBodySchema, decisionRequestSchema, getRunQuerySchema, listRunsQuerySchema, runSchema } from '../../contracts/runs.ts';
import { teamPathSchema, teamSettingsPatchSchema, teamSettingsSchema, teamSlugSchema } from '../../contracts/teams.ts';
import {
  createTeamRequestSchema,
  createUserRequestSchema,
  listUsersQuerySchema,
  memberListSchema,
  memberPathSchema,
  memberSchema,
  putMemberRequestSchema,
  teamListSchema,
  teamSchema,
  updateUserRequestSchema,
  userListSchema,
  userPathSchema,
  userSchema,
} from '../routes/admin.ts';
import { changePasswordRequestSchema, initialPasswordRequestSchema, loginRequestSchema, meResponseSchema, refreshRequestSchema, tokenResponseSchema } from '../routes/auth.ts';
import { runPathSchema } from '../routes/runs.ts';
import { OpenApiBuilder, hardenInput, type OperationSpec } from './builder.ts';
import { alertOps, alertSchemas } from './alerts.ts';
import { integrationOps, integrationSchemas } from './integrations.ts';
import { monitoringOps, monitoringSchemas } from './monitoring.ts';
import { metricsOps, metricsSchemas } from './metrics.ts';
import { costOps, costSchemas } from './costs.ts';
import { scheduleOps, scheduleSchemas } from './schedules.ts';
import { identityOps, identitySchemas, mfaOps } from './identity.ts';
import { ssoOps, ssoSchemas } from './sso.ts';

// Envelopes the runs router answers with (it builds them from runSchema / runEventSchema).
// Reads may be cut to `fields=`: every member but `id` may then be missing.
const runFieldsSchema = runSchema.partial().required({ id: true });
const runListSchema = z.object({ runs: z.array(runFieldsSchema), nextCursor: z.string().nullable() });
const eventPageSchema = z.object({ events: z.array(runEventSchema), next: z.number().int().nullable().describe('pass as `after` for the next page') });
const kindListSchema = z.object({
  kinds: z.array(
    z.object({
      kind: z.string(),
      title: z.string(),
      description: z.string(),
      approval: z.enum(['always', 'optional', 'never']).describe('whether runs of this kind wait for a person before they change anything'),
      summary: z.enum(['plan', 'hosts', 'deploy', 'findings', 'none']).describe('how a run\'s summary is shown'),
      paramsSchema: z.record(z.string(), z.unknown()).describe('JSON Schema of params'),
    }),
  ),
});

const pascal = (s: string) => s.replace(/(^|[-_])(\w)/g, (_m, _sep: string, c: string) => c.toUpperCase());
export const kindParamsComponent = (kind: string): string => `${pascal(kind)}Params`;

const runOps: OperationSpec[] = [
  { method: 'post', path: '/api/v1/runs', operationId: 'startRun', tag: 'runs', summary: 'Start a run of a kind for a team', body: 'StartRunRequest', responses: { 201: { description: 'the queued run', schema: 'Run' } }, errors: [400, 403, 404, 409] },
  { method: 'get', path: '/api/v1/runs', operationId: 'listRuns', tag: 'runs', summary: 'Runs of the teams the caller can see, newest first', query: listRunsQuerySchema, responses: { 200: { description: 'a page of runs (each cut to `fields` when given)', schema: 'RunList' } }, errors: [400] },
  { method: 'get', path: '/api/v1/runs/{id}', operationId: 'getRun', tag: 'runs', summary: 'One run', params: runPathSchema, query: getRunQuerySchema, responses: { 200: { description: 'the run (cut to `fields` when given)', schema: 'RunFields' } }, errors: [400, 404] },
  ...(['approve', 'reject'] as const).map(
    (d): OperationSpec => ({ method: 'post', path: `/api/v1/runs/{id}/${d}`, operationId: `${d}Run`, tag: 'runs', summary: `${d === 'approve' ? 'Approve' : 'Reject'} a run waiting for approval (approver role)`, params: runPathSchema, body: 'DecisionRequest', bodyOptional: true, responses: { 200: { description: 'the run after the decision', schema: 'Run' } }, errors: [400, 403, 404, 409] }),
  ),
  { method: 'post', path: '/api/v1/runs/{id}/rerun', operationId: 'rerunRun', tag: 'runs', summary: 'Start a new run with the inputs (kind, team, params) of this one', params: runPathSchema, responses: { 201: { description: 'the new, queued run', schema: 'Run' } }, errors: [400, 403, 404, 409] },
  { method: 'post', path: '/api/v1/runs/{id}/rollback', operationId: 'rollbackDeploy', tag: 'runs', summary: 'Start a deploy run that restores the version a succeeded deploy replaced (linked to it both ways)', params: runPathSchema, responses: { 201: { description: 'the new, queued deploy run', schema: 'Run' } }, errors: [400, 403, 404, 409] },
  { method: 'post', path: '/api/v1/runs/{id}/cancel', operationId: 'cancelRun', tag: 'runs', summary: 'Request cancellation of an active run (optional body: `force`)', params: runPathSchema, body: 'CancelRequest', bodyOptional: true, responses: { 202: { description: 'cancellation requested', schema: 'Run' } }, errors: [403, 404, 409] },
  { method: 'get', path: '/api/v1/runs/{id}/events', operationId: 'listRunEvents', tag: 'runs', summary: 'Events of a run after a sequence number', params: runPathSchema, query: listEventsQuerySchema, responses: { 200: { description: 'a page of events', schema: 'EventPage' } }, errors: [400, 404] },
  { method: 'get', path: '/api/v1/kinds', operationId: 'listKinds', tag: 'runs', summary: 'Kinds of run and the JSON Schema of their params', responses: { 200: { description: 'the kinds', schema: 'KindList' } } },
];

const authOps: OperationSpec[] = [
  { method: 'post', path: '/api/v1/auth/login', operationId: 'login', tag: 'auth', summary: 'Email + password (+ mfaCode when the account has MFA: 401 mfaRequired without it) login (limited per client address, with a growing wait per account after repeated failures)', auth: false, body: 'LoginRequest', responses: { 200: { description: 'a new session', schema: 'TokenResponse' } }, errors: [400, 401, 403, 429] },
  { method: 'post', path: '/api/v1/auth/refresh', operationId: 'refresh', tag: 'auth', summary: 'Rotate a refresh token; a reused one revokes its whole session', auth: false, body: 'RefreshRequest', responses: { 200: { description: 'the next token pair', schema: 'TokenResponse' } }, errors: [400, 401] },
  { method: 'post', path: '/api/v1/auth/logout', operationId: 'logout', tag: 'auth', summary: 'Revoke the current access token and its session', responses: { 204: { description: 'logged out' } } },
  { method: 'post', path: '/api/v1/auth/password/initial', operationId: 'setInitialPassword', tag: 'auth', summary: 'First sign-in with a password an admin set (login answered 403 passwordChangeRequired): replace it, get a session (+ mfaCode when the account has MFA: 401 mfaRequired without it)', auth: false, body: 'InitialPasswordRequest', responses: { 200: { description: 'a new session', schema: 'TokenResponse' } }, errors: [400, 401, 429] },
  { method: 'post', path: '/api/v1/auth/password', operationId: 'changePassword', tag: 'auth', summary: 'Change the caller’s password; every other session of theirs ends', body: 'ChangePasswordRequest', responses: { 204: { description: 'changed' } }, errors: [400, 403] },
  { method: 'get', path: '/api/v1/me', operationId: 'getMe', tag: 'auth', summary: 'The caller, their teams, roles and permissions', responses: { 200: { description: 'who am I', schema: 'Me' } } },
];

const adminOps: OperationSpec[] = [
  { method: 'post', path: '/api/v1/teams', operationId: 'createTeam', tag: 'admin', summary: 'Create a team (platform admin)', body: 'CreateTeamRequest', responses: { 201: { description: 'the team', schema: 'Team' } }, errors: [400, 403, 409] },
  { method: 'get', path: '/api/v1/teams', operationId: 'listTeams', tag: 'admin', summary: 'All teams (platform admin) or the caller’s teams', responses: { 200: { description: 'teams', schema: 'TeamList' } } },
  { method: 'get', path: '/api/v1/teams/{slug}/members', operationId: 'listMembers', tag: 'admin', summary: 'Members of a team the caller can see', params: teamPathSchema, responses: { 200: { description: 'members', schema: 'MemberList' } }, errors: [404] },
  { method: 'put', path: '/api/v1/teams/{slug}/members', operationId: 'putMember', tag: 'admin', summary: 'Add a member or change their role (team:manage); the last admin cannot be demoted', params: teamPathSchema, body: 'PutMemberRequest', responses: { 200: { description: 'role changed', schema: 'Member' }, 201: { description: 'member added', schema: 'Member' } }, errors: [400, 403, 404, 409] },
  { method: 'delete', path: '/api/v1/teams/{slug}/members/{userId}', operationId: 'removeMember', tag: 'admin', summary: 'Remove a member (team:manage); never the team’s last admin', params: memberPathSchema, responses: { 204: { description: 'removed' } }, errors: [400, 403, 404, 409] },
  { method: 'post', path: '/api/v1/users', operationId: 'createUser', tag: 'admin', summary: 'Create a user (platform admin)', body: 'CreateUserRequest', responses: { 201: { description: 'the user', schema: 'User' } }, errors: [400, 403, 409] },
  { method: 'patch', path: '/api/v1/users/{id}', operationId: 'updateUser', tag: 'admin', summary: 'Rename, disable (ends their sessions) or (un)make platform admin (platform admin)', params: userPathSchema, body: 'UpdateUserRequest', responses: { 200: { description: 'the user', schema: 'User' } }, errors: [400, 403, 404, 409] },
  { method: 'get', path: '/api/v1/users', operationId: 'listUsers', tag: 'admin', summary: 'Users by email (platform admin)', query: listUsersQuerySchema, responses: { 200: { description: 'a page of users', schema: 'UserList' } }, errors: [400, 403] },
];

const settingsOps: OperationSpec[] = [
  { method: 'get', path: '/api/v1/teams/{slug}/settings', operationId: 'getTeamSettings', tag: 'admin', summary: 'A team’s policy: four-eyes, auto-apply, Terraform restrictions (team members)', params: teamPathSchema, responses: { 200: { description: 'the settings', schema: 'TeamSettings' } }, errors: [404] },
  { method: 'patch', path: '/api/v1/teams/{slug}/settings', operationId: 'updateTeamSettings', tag: 'admin', summary: 'Change a team’s policy (team:manage); audited', params: teamPathSchema, body: 'TeamSettingsPatch', responses: { 200: { description: 'the settings now', schema: 'TeamSettings' } }, errors: [403, 404] },
];

const metaOps: OperationSpec[] = [
  { method: 'get', path: '/api/v1/openapi.json', operationId: 'getOpenApi', tag: 'meta', summary: 'This document', auth: false, responses: { 200: { description: 'OpenAPI 3.1' } } },
  { method: 'get', path: '/api/v1/docs', operationId: 'getDocs', tag: 'meta', summary: 'Browsable API reference', auth: false, responses: { 200: { description: 'HTML page' } } },
  { method: 'get', path: '/api/v1/docs/app.js', operationId: 'getDocsScript', tag: 'meta', summary: 'Script of the reference page', auth: false, responses: { 200: { description: 'JavaScript' } } },
];

/**
 * POST /runs: one shape per kind, `params` validated by that kind's schema (what startRun does, and
 * what JSON Schema can only say as a choice keyed on `kind`).
 */
function startRunRequestComponent(): Record<string, unknown> {
  const { $schema: _s, ...slug } = z.toJSONSchema(teamSlugSchema) as Record<string, unknown>;
  return hardenInput({
    oneOf: Object.keys(KINDS).map((kind) => ({
      type: 'object',
      properties: { kind: { const: kind }, team: { ...slug, description: 'team slug' }, params: { $ref: `#/components/schemas/${kindParamsComponent(kind)}` } },
      required: ['kind', 'team', 'params'],
    })),
  }) as Record<string, unknown>;
}

/** The OpenAPI 3.1 document, from the zod schemas the routes validate with. */
export function buildOpenApiDocument(opts: { serverUrl: string }): Record<string, unknown> {
  const b = new OpenApiBuilder()
    .schema('LoginRequest', loginRequestSchema, 'input')
    .schema('RefreshRequest', refreshRequestSchema, 'input')
    .schema('TokenResponse', tokenResponseSchema, 'output')
    .schema('Me', meResponseSchema, 'output')
    .schema('ChangePasswordRequest', changePasswordRequestSchema, 'input')
    .schema('InitialPasswordRequest', initialPasswordRequestSchema, 'input')
    .schema('CreateTeamRequest', createTeamRequestSchema, 'input')
    .schema('Team', teamSchema, 'output')
    .schema('TeamList', teamListSchema, 'output')
    .schema('PutMemberRequest', putMemberRequestSchema, 'input')
    .schema('Member', memberSchema, 'output')
    .schema('MemberList', memberListSchema, 'output')
    .schema('CreateUserRequest', createUserRequestSchema, 'input')
    .schema('UpdateUserRequest', updateUserRequestSchema, 'input')
    .schema('User', userSchema, 'output')
    .schema('UserList', userListSchema, 'output')
    .component('StartRunRequest', startRunRequestComponent())
    .schema('DecisionRequest', decisionRequestSchema, 'input')
    .schema('CancelRequest', cancelRequestBodySchema, 'input')
    .schema('TeamSettings', teamSettingsSchema, 'output')
    .schema('TeamSettingsPatch', teamSettingsPatchSchema, 'input')
    .schema('Run', runSchema, 'output')
    .schema('RunFields', runFieldsSchema, 'output')
    .schema('RunList', runListSchema, 'output')
    .schema('RunEvent', runEventSchema, 'output')
    .schema('EventPage', eventPageSchema, 'output')
    .schema('KindList', kindListSchema, 'output');
  integrationSchemas(b);
  scheduleSchemas(b);
  monitoringSchemas(b);
  metricsSchemas(b);
  costSchemas(b);
  alertSchemas(b);
  identitySchemas(b);
  ssoSchemas(b);
  for (const def of Object.values(KINDS)) b.schema(kindParamsComponent(def.kind), def.paramsSchema, 'input');
  b.patch('PutMemberRequest', (s) => {
    s.oneOf = [{ required: ['email'] }, { required: ['userId'] }];
  });
  b.patch('UpdateUserRequest', (s) => {
    s.minProperties = 1;
  });
  b.patch('TeamSettingsPatch', (s) => {
    s.minProperties = 1;
  });
  for (const op of [...authOps, ...adminOps, ...settingsOps, ...runOps, ...integrationOps, ...scheduleOps, ...monitoringOps, ...metricsOps, ...costOps, ...alertOps, ...identityOps, ...mfaOps, ...ssoOps, ...metaOps]) b.operation(op);
  return b.build(
    {
      title: 'OpsSight API',
      version: '1.0.0',
      description: 'Start, watch, approve and cancel durable runs. Errors are RFC 9457 problem+json.',
    },
    opts.serverUrl,
  );
}
