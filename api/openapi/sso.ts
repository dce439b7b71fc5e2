import { createProviderRequestSchema, providerDetailSchema, providerViewSchema, updateProviderRequestSchema } from '../../core/sso/store.ts';
import { providerListSchema, providerPathSchema, samlMetadataRequestSchema, samlMetadataResponseSchema } from '../routes/auth-providers.ts';
import { ldapLoginRequestSchema, publicProviderListSchema, ssoCallbackQuerySchema, ssoExchangeRequestSchema, ssoPathSchema } from '../routes/sso.ts';
import type { OpenApiBuilder, OperationSpec } from './builder.ts';

const toDashboard = { description: 'to the dashboard: `/#sso=<one-time code>` on success, `/#sso_error=<reason>` otherwise (never an error page)' };

/** The sign-in provider admin routes and the single sign-on flows (api/routes/auth-providers.ts, api/routes/sso.ts). */
export const ssoOps: OperationSpec[] = [
  { method: 'get', path: '/api/v1/auth/providers', operationId: 'listAuthProviders', tag: 'auth', summary: 'Sign-in providers with their settings and mapping rules, never their secrets (platform admin)', responses: { 200: { description: 'the providers', schema: 'AuthProviderList' } }, errors: [403] },
  { method: 'post', path: '/api/v1/auth/providers', operationId: 'createAuthProvider', tag: 'auth', summary: 'Add an OIDC, GitHub, LDAP or SAML provider (platform admin); secrets are sealed and never returned', body: 'CreateAuthProviderRequest', responses: { 201: { description: 'the provider', schema: 'AuthProvider' } }, errors: [400, 403, 409] },
  { method: 'get', path: '/api/v1/auth/providers/{id}', operationId: 'getAuthProvider', tag: 'auth', summary: 'One sign-in provider, with warnings for its admins (mappings held back to keep a team’s last admin) (platform admin)', params: providerPathSchema, responses: { 200: { description: 'the provider', schema: 'AuthProviderDetail' } }, errors: [403, 404] },
  { method: 'patch', path: '/api/v1/auth/providers/{id}', operationId: 'updateAuthProvider', tag: 'auth', summary: 'Change settings, mappings, enable/disable or replace secrets (platform admin)', params: providerPathSchema, body: 'UpdateAuthProviderRequest', responses: { 200: { description: 'the provider', schema: 'AuthProvider' } }, errors: [400, 403, 404] },
  { method: 'delete', path: '/api/v1/auth/providers/{id}', operationId: 'deleteAuthProvider', tag: 'auth', summary: 'Remove a provider; its users keep their accounts, its sessions end at their next refresh (platform admin)', params: providerPathSchema, responses: { 204: { description: 'deleted' } }, errors: [403, 404] },
  { method: 'post', path: '/api/v1/auth/providers/saml-metadata', operationId: 'importSamlMetadata', tag: 'auth', summary: 'Read an IdP’s SAML metadata into the settings and secret of a SAML provider (platform admin; stores nothing)', body: 'SamlMetadataRequest', responses: { 200: { description: 'settings and secrets to create the provider with', schema: 'SamlMetadataResponse' } }, errors: [400, 403] },
  { method: 'get', path: '/api/v1/sso/{slug}/metadata', operationId: 'samlSpMetadata', tag: 'auth', summary: 'Our SAML service provider metadata for an IdP (entity id = this URL, ACS = /sso/{slug}/acs)', auth: false, params: ssoPathSchema, responses: { 200: { description: 'SAML metadata', contentType: 'application/samlmetadata+xml' } }, errors: [404] },
  { method: 'post', path: '/api/v1/sso/{slug}/acs', operationId: 'samlAcs', tag: 'auth', summary: 'Assertion consumer service: the IdP posts `SAMLResponse` and our `RelayState` here (form, HTTP-POST binding); the response must answer the request of that RelayState', auth: false, params: ssoPathSchema, responses: { 302: toDashboard } },
  { method: 'get', path: '/api/v1/sso/providers', operationId: 'listSignInProviders', tag: 'auth', summary: 'Enabled sign-in providers, for the login page', auth: false, responses: { 200: { description: 'the providers', schema: 'PublicProviderList' } } },
  { method: 'get', path: '/api/v1/sso/{slug}/start', operationId: 'startSso', tag: 'auth', summary: 'Start signing in through a provider: redirect to it (authorization code + PKCE, state and nonce kept server-side); sets the HttpOnly `opssight_sso` cookie that binds the sign-in to this browser', auth: false, params: ssoPathSchema, responses: { 302: { description: 'to the provider, or back to the dashboard with the reason it cannot start' } } },
  { method: 'get', path: '/api/v1/sso/{slug}/callback', operationId: 'ssoCallback', tag: 'auth', summary: 'Where the provider sends the browser back', auth: false, params: ssoPathSchema, query: ssoCallbackQuerySchema, responses: { 302: toDashboard }, errors: [400] },
  { method: 'post', path: '/api/v1/sso/exchange', operationId: 'exchangeSsoCode', tag: 'auth', summary: 'Trade the one-time code of a finished single sign-on for the session; only the browser that started it (its `opssight_sso` cookie) may, anyone else gets 400 and the session is revoked', auth: false, body: 'SsoExchangeRequest', responses: { 200: { description: 'a new session', schema: 'TokenResponse' } }, errors: [400] },
  { method: 'post', path: '/api/v1/sso/{slug}/login', operationId: 'directoryLogin', tag: 'auth', summary: 'Sign in with a directory (LDAP / Active Directory) username and password', auth: false, params: ssoPathSchema, body: 'DirectoryLoginRequest', responses: { 200: { description: 'a new session', schema: 'TokenResponse' } }, errors: [400, 401, 404, 429, 502] },
];

export function ssoSchemas(b: OpenApiBuilder): OpenApiBuilder {
  return b
    .schema('CreateAuthProviderRequest', createProviderRequestSchema, 'input')
    .schema('UpdateAuthProviderRequest', updateProviderRequestSchema, 'input')
    .schema('AuthProvider', providerViewSchema, 'output')
    .schema('AuthProviderDetail', providerDetailSchema, 'output')
    .schema('AuthProviderList', providerListSchema, 'output')
    .schema('PublicProviderList', publicProviderListSchema, 'output')
    .schema('SsoExchangeRequest', ssoExchangeRequestSchema, 'input')
    .schema('DirectoryLoginRequest', ldapLoginRequestSchema, 'input')
    .schema('SamlMetadataRequest', samlMetadataRequestSchema, 'input')
    .schema('SamlMetadataResponse', samlMetadataResponseSchema, 'output');
}
