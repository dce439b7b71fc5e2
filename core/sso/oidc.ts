import * as client from 'openid-client';
import { ProviderConfigError, SsoRefusedError } from './errors.ts';
import type { FlowState, StartedFlow } from './flow-state.ts';
import type { AssertedIdentity } from './provision.ts';
import { oidcIssuer, type OidcSettings } from './settings.ts';
import type { LoadedProvider } from './store.ts';

/** Discovered configurations, per provider and version of its row: discovery is one HTTP round trip we need not repeat. */
const discovered = new Map<string, client.Configuration>();

/** Plain HTTP is for an issuer on this machine (a test or a sidecar), never across a network. */
const isLoopback = (u: URL) => u.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);

type Failure = { code?: string; error?: string; error_description?: string; message?: string; claim?: string; cause?: Failure };

/** Maps what openid-client threw to what the user and the admin need to know; the setting to look at is named. */
export function explainOidcFailure(provider: LoadedProvider, err: unknown): Error {
  const f = (err ?? {}) as Failure;
  // openid-client wraps oauth4webapi's error (whose own cause says which claim failed).
  const inner = f.cause ?? {};
  const slug = provider.slug;
  if (f.error === 'invalid_client' || f.error === 'unauthorized_client') return new ProviderConfigError(slug, 'secrets.clientSecret', `the provider refused our client credentials (${f.error})`);
  if (f.code === client.ResponseBodyError.prototype.code || f.error) {
    if (f.error === 'invalid_grant') return new SsoRefusedError('the sign-in code was refused by the provider (expired or already used); start again');
    if (f.error === 'access_denied') return new SsoRefusedError('sign-in was cancelled or denied at the provider');
    return new SsoRefusedError(`the provider refused the sign-in: ${f.error}${f.error_description ? ` (${f.error_description})` : ''}`);
  }
  if (f.code === 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED') {
    return new ProviderConfigError(slug, 'settings.clockToleranceSeconds', `the ID token's ${inner.cause?.claim ?? 'time'} claim is outside our clock's tolerance (${inner.message ?? f.message}); the provider's clock and ours disagree`);
  }
  const claim = f.code === 'OAUTH_JWT_CLAIM_COMPARISON_FAILED' ? (inner.cause?.claim ?? inner.claim) : undefined;
  if (claim === 'nonce') return new SsoRefusedError('the ID token does not belong to this sign-in (nonce mismatch)');
  if (claim === 'aud') return new ProviderConfigError(slug, 'settings.clientId', 'the ID token is for another client');
  if (claim === 'iss') return new ProviderConfigError(slug, 'settings.issuer', 'the ID token comes from another issuer');
  if (/state/i.test(inner.message ?? '') && f.code === 'OAUTH_INVALID_RESPONSE') return new SsoRefusedError('the answer does not belong to this sign-in (state mismatch)');
  return new SsoRefusedError(`the provider's answer was refused: ${[f.message, inner.message].filter(Boolean).join(': ') || 'unknown error'}`);
}

async function configuration(provider: LoadedProvider): Promise<client.Configuration> {
  const key = `${provider.id}:${provider.updatedAt.getTime()}`;
  const known = discovered.get(key);
  if (known) return known;
  const s = provider.settings as OidcSettings;
  const issuer = oidcIssuer(s);
  if (!issuer) throw new ProviderConfigError(provider.slug, s.preset === 'azure' ? 'settings.tenant' : 'settings.issuer', 'no issuer URL');
  let config: client.Configuration;
  try {
    const url = new URL(issuer);
    config = await client.discovery(
      url,
      s.clientId,
      { client_secret: provider.secrets.clientSecret, [client.clockTolerance]: s.clockToleranceSeconds ?? 30 },
      client.ClientSecretPost(provider.secrets.clientSecret),
      { timeout: 5, ...(isLoopback(url) ? { execute: [client.allowInsecureRequests] } : {}) },
    );
  } catch (err) {
    const cause = (err as Error).cause as Error | undefined;
    const why = [(err as Error).message, cause?.message].filter(Boolean).join(': ');
    throw new ProviderConfigError(provider.slug, 'settings.issuer', `discovery at ${issuer} failed: ${why}`);
  }
  discovered.set(key, config);
  return config;
}

/** Where to send the browser: an authorization request with PKCE (S256), state and nonce, all kept server-side. */
export async function startOidc(provider: LoadedProvider, redirectUri: string): Promise<{ url: string; state: string; flow: StartedFlow }> {
  const config = await configuration(provider);
  const s = provider.settings as OidcSettings;
  const codeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: s.scopes.join(' '),
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  return { url: url.href, state, flow: { providerId: provider.id, codeVerifier, nonce, redirectUri } };
}

function identityFrom(s: OidcSettings, claims: Record<string, unknown>): AssertedIdentity {
  const raw = claims[s.groupsClaim];
  const groups = Array.isArray(raw) ? raw.map(String) : typeof raw === 'string' ? [raw] : [];
  const email = typeof claims.email === 'string' ? claims.email : null;
  const name = typeof claims.name === 'string' ? claims.name : typeof claims.preferred_username === 'string' ? claims.preferred_username : null;
  return { subject: String(claims.sub), email, emailVerified: claims.email_verified === true, name, groups };
}

/**
 * openid-client (oauth4webapi) holds `exp` and `nbf` to the tolerance but accepts any `iat` in the
 * future: a provider whose clock runs minutes ahead would issue tokens that live that much longer here.
 * Issued beyond the tolerance ahead of our clock is the same misconfiguration as expired beyond it.
 */
function assertIssuedNotAhead(provider: LoadedProvider, idClaims: client.IDToken): void {
  const tolerance = (provider.settings as OidcSettings).clockToleranceSeconds ?? 30;
  const ahead = idClaims.iat - Math.floor(Date.now() / 1000);
  if (ahead > tolerance) {
    throw new ProviderConfigError(provider.slug, 'settings.clockToleranceSeconds', `the ID token's iat claim is ${ahead} s ahead of our clock, beyond the ${tolerance} s tolerated; the provider's clock and ours disagree`);
  }
}

/** Claims of the ID token, completed from the UserInfo endpoint (groups often live only there). */
async function claimsOf(provider: LoadedProvider, config: client.Configuration, tokens: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers): Promise<Record<string, unknown>> {
  const s = provider.settings as OidcSettings;
  const idClaims = tokens.claims();
  if (!idClaims) throw new SsoRefusedError('the provider returned no ID token');
  assertIssuedNotAhead(provider, idClaims);
  const claims: Record<string, unknown> = { ...idClaims };
  if ((claims[s.groupsClaim] === undefined || claims.email === undefined) && config.serverMetadata().userinfo_endpoint) {
    const info = await client.fetchUserInfo(config, tokens.access_token, idClaims.sub);
    for (const [k, v] of Object.entries(info)) if (claims[k] === undefined) claims[k] = v;
  }
  return claims;
}

/**
 * Ends an authorization code flow: code for tokens (with the PKCE verifier), then openid-client checks
 * state, the ID token's signature (the issuer's JWKS), issuer, audience, expiry and nonce.
 */
export async function finishOidc(provider: LoadedProvider, currentUrl: URL, state: string, flow: FlowState): Promise<{ identity: AssertedIdentity; upstream: string | null }> {
  const config = await configuration(provider);
  const s = provider.settings as OidcSettings;
  try {
    const tokens = await client.authorizationCodeGrant(config, currentUrl, { pkceCodeVerifier: flow.codeVerifier!, expectedState: state, expectedNonce: flow.nonce!, idTokenExpected: true });
    const claims = await claimsOf(provider, config, tokens);
    return { identity: identityFrom(s, claims), upstream: tokens.refresh_token ?? null };
  } catch (err) {
    if (err instanceof ProviderConfigError || err instanceof SsoRefusedError) throw err;
    throw explainOidcFailure(provider, err);
  }
}

/**
 * At our refresh: the provider's refresh token, traded, says whether the provider still vouches for the
 * user (a removed or disabled user gets invalid_grant) and what their groups are now.
 */
export async function recheckOidc(provider: LoadedProvider, upstream: string): Promise<{ groups: string[]; upstream: string }> {
  const config = await configuration(provider);
  const s = provider.settings as OidcSettings;
  try {
    const tokens = await client.refreshTokenGrant(config, upstream);
    const claims = tokens.id_token ? await claimsOf(provider, config, tokens) : await client.fetchUserInfo(config, tokens.access_token, client.skipSubjectCheck);
    return { groups: identityFrom(s, claims as Record<string, unknown>).groups, upstream: tokens.refresh_token ?? upstream };
  } catch (err) {
    throw explainOidcFailure(provider, err);
  }
}
