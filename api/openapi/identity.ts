import {
  apiTokenListSchema,
  apiTokenSchema,
  assignRoleRequestSchema,
  auditPageSchema,
  auditQuerySchema,
  createApiTokenRequestSchema,
  createdApiTokenSchema,
  createRoleRequestSchema,
  disableMfaRequestSchema,
  startMfaRequestSchema,
  effectivePermissionsSchema,
  idPathSchema,
  membershipRolePathSchema,
  mfaStatusSchema,
  permissionListSchema,
  recoveryCodesSchema,
  roleListSchema,
  roleSchema,
  sessionListSchema,
  totpCodeRequestSchema,
  totpEnrolmentSchema,
  updateRoleRequestSchema,
  userSessionsPathSchema,
} from '../../contracts/identity.ts';
import type { OpenApiBuilder, OperationSpec } from './builder.ts';

/** Tokens, sessions, roles, audit and MFA (api/routes/{tokens,sessions,roles,audit,mfa}.ts). */
export const identityOps: OperationSpec[] = [
  { method: 'get', path: '/api/v1/me/tokens', operationId: 'listApiTokens', tag: 'identity', summary: 'The caller’s API tokens (never the tokens themselves)', responses: { 200: { description: 'tokens', schema: 'ApiTokenList' } } },
  { method: 'post', path: '/api/v1/me/tokens', operationId: 'createApiToken', tag: 'identity', summary: 'Create an API token for one team, scoped to permissions the caller holds there; shown once; audited', body: 'CreateApiTokenRequest', responses: { 201: { description: 'the token, shown this once', schema: 'CreatedApiToken' } }, errors: [400, 403, 404] },
  { method: 'delete', path: '/api/v1/me/tokens/{id}', operationId: 'revokeApiToken', tag: 'identity', summary: 'Revoke an API token (effective within a second everywhere; its sockets close); audited', params: idPathSchema, responses: { 204: { description: 'revoked' } }, errors: [400, 403, 404] },
  { method: 'get', path: '/api/v1/me/sessions', operationId: 'listSessions', tag: 'identity', summary: 'The caller’s live sign-in sessions: user agent, address, last use', responses: { 200: { description: 'sessions', schema: 'SessionList' } } },
  { method: 'delete', path: '/api/v1/me/sessions', operationId: 'revokeOtherSessions', tag: 'identity', summary: 'End every session of the caller but the current one (their sockets close); audited', responses: { 204: { description: 'ended' } }, errors: [403] },
  { method: 'delete', path: '/api/v1/me/sessions/{id}', operationId: 'revokeSession', tag: 'identity', summary: 'End one of the caller’s sessions (its sockets close); audited', params: idPathSchema, responses: { 204: { description: 'ended' } }, errors: [400, 403, 404] },
  { method: 'get', path: '/api/v1/users/{id}/sessions', operationId: 'listUserSessions', tag: 'identity', summary: 'A user’s live sessions (platform admin)', params: userSessionsPathSchema, responses: { 200: { description: 'sessions', schema: 'SessionList' } }, errors: [400, 403, 404] },
  { method: 'delete', path: '/api/v1/users/{id}/sessions', operationId: 'revokeUserSessions', tag: 'identity', summary: 'End every session of a user (platform admin; their sockets close); audited', params: userSessionsPathSchema, responses: { 204: { description: 'ended' } }, errors: [400, 403, 404] },
  { method: 'get', path: '/api/v1/permissions', operationId: 'listPermissions', tag: 'identity', summary: 'Every permission a role or token can hold, per-kind ones included', responses: { 200: { description: 'the catalogue', schema: 'PermissionList' } } },
  { method: 'get', path: '/api/v1/roles', operationId: 'listRoles', tag: 'identity', summary: 'Built-in and custom roles with their permissions', responses: { 200: { description: 'roles', schema: 'RoleList' } } },
  { method: 'post', path: '/api/v1/roles', operationId: 'createRole', tag: 'identity', summary: 'Define a custom role as a set of permissions, optionally limiting its approvals to some targets (platform admin); audited', body: 'CreateRoleRequest', responses: { 201: { description: 'the role', schema: 'Role' } }, errors: [400, 403, 409] },
  { method: 'patch', path: '/api/v1/roles/{id}', operationId: 'updateRole', tag: 'identity', summary: 'Change a custom role; its holders’ access changes within a second (platform admin); audited', params: idPathSchema, body: 'UpdateRoleRequest', responses: { 200: { description: 'the role', schema: 'Role' } }, errors: [400, 403, 404] },
  { method: 'delete', path: '/api/v1/roles/{id}', operationId: 'deleteRole', tag: 'identity', summary: 'Delete a custom role; its holders go back to their built-in role (platform admin); audited', params: idPathSchema, responses: { 204: { description: 'deleted' } }, errors: [400, 403, 404] },
  { method: 'put', path: '/api/v1/teams/{slug}/members/{userId}/role', operationId: 'assignMemberRole', tag: 'identity', summary: 'Give a member a custom role in the team, or (null) their built-in role back (team:manage); audited', params: membershipRolePathSchema, body: 'AssignRoleRequest', responses: { 200: { description: 'assigned' } }, errors: [400, 403, 404] },
  { method: 'get', path: '/api/v1/users/{id}/permissions', operationId: 'getEffectivePermissions', tag: 'identity', summary: 'What a user may do in each of their teams (platform admin, or the user)', params: userSessionsPathSchema, responses: { 200: { description: 'effective permissions', schema: 'EffectivePermissions' } }, errors: [400, 403, 404] },
  { method: 'get', path: '/api/v1/audit', operationId: 'listAudit', tag: 'identity', summary: 'The audit log, newest first, filtered and paged by cursor (platform admin; team admins with their teamId)', query: auditQuerySchema, responses: { 200: { description: 'a page of entries', schema: 'AuditPage' } }, errors: [400, 403] },
];

export const mfaOps: OperationSpec[] = [
  { method: 'get', path: '/api/v1/me/mfa', operationId: 'getMfa', tag: 'identity', summary: 'Whether the caller has a second factor, and how many recovery codes are left', responses: { 200: { description: 'status', schema: 'MfaStatus' } } },
  { method: 'post', path: '/api/v1/me/mfa/totp', operationId: 'startTotpEnrolment', tag: 'identity', summary: 'Start enrolling a TOTP authenticator: a secret and its QR code (not active until verified); asks for the current password (a wrong one counts as a failed login)', body: 'StartMfaRequest', responses: { 200: { description: 'the secret to scan', schema: 'TotpEnrolment' } }, errors: [400, 403, 409, 429] },
  { method: 'post', path: '/api/v1/me/mfa/totp/verify', operationId: 'verifyTotpEnrolment', tag: 'identity', summary: 'Confirm the enrolment with a first code: the second factor is then required at sign-in; returns ten recovery codes, shown once', body: 'TotpCodeRequest', responses: { 200: { description: 'recovery codes', schema: 'RecoveryCodes' } }, errors: [400, 403, 404, 409] },
  { method: 'post', path: '/api/v1/me/mfa/disable', operationId: 'disableMfa', tag: 'identity', summary: 'Remove the second factor (needs the current password and a current code or a recovery code; wrong ones count as failed logins); audited', body: 'DisableMfaRequest', responses: { 204: { description: 'removed' } }, errors: [400, 403, 404, 429] },
];

export function identitySchemas(b: OpenApiBuilder): OpenApiBuilder {
  return b
    .schema('ApiToken', apiTokenSchema, 'output')
    .schema('ApiTokenList', apiTokenListSchema, 'output')
    .schema('CreatedApiToken', createdApiTokenSchema, 'output')
    .schema('CreateApiTokenRequest', createApiTokenRequestSchema, 'input')
    .schema('SessionList', sessionListSchema, 'output')
    .schema('PermissionList', permissionListSchema, 'output')
    .schema('Role', roleSchema, 'output')
    .schema('RoleList', roleListSchema, 'output')
    .schema('CreateRoleRequest', createRoleRequestSchema, 'input')
    .schema('UpdateRoleRequest', updateRoleRequestSchema, 'input')
    .schema('AssignRoleRequest', assignRoleRequestSchema, 'input')
    .schema('EffectivePermissions', effectivePermissionsSchema, 'output')
    .schema('AuditPage', auditPageSchema, 'output')
    .schema('MfaStatus', mfaStatusSchema, 'output')
    .schema('TotpEnrolment', totpEnrolmentSchema, 'output')
    .schema('TotpCodeRequest', totpCodeRequestSchema, 'input')
    .schema('RecoveryCodes', recoveryCodesSchema, 'output')
    .schema('StartMfaRequest', startMfaRequestSchema, 'input')
    .schema('DisableMfaRequest', disableMfaRequestSchema, 'input')
    .patch('UpdateRoleRequest', (s) => {
      s.minProperties = 1;
    });
}
