import { generateKeyPairSync } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt, importJWK, SignJWT, type JWK, type JWTPayload } from 'jose';
import Provider, { type Configuration } from 'oidc-provider';

export type OidcAccount = { email: string; emailVerified: boolean; name: string; groups: string[]; disabled?: boolean };

export const OIDC_CLIENT = { clientId: 'opssight', clientSecret: 'opssight-client-secret' };

/**
 * A real, certified OpenID provider (npm oidc-provider) on a loopback port: authorization code + PKCE,
 * signed ID tokens, refresh tokens, UserInfo, and its built-in (development) login and consent pages.
 * Accounts are a Map the test changes between steps: a changed group or a disabled account is what
 * the provider answers from then on (refresh included), as a real IdP would.
 */
export async function startOidcProvider(opts: { redirectUris: string[]; accounts: Record<string, OidcAccount> }) {
  const accounts = new Map(Object.entries(opts.accounts));
  // The provider signs with a key the peer holds, so a test can play an IdP that misbehaves (a token for
  // another client, a clock that is off) by re-signing the ID token it issued with altered claims.
  const jwk = { ...(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }) as JWK), kid: 'peer-signing', alg: 'RS256', use: 'sig' };
  const signingKey = await importJWK(jwk, 'RS256');
  const peer: { idTokenClaims: ((claims: JWTPayload) => JWTPayload) | null } = { idTokenClaims: null };
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const configuration: Configuration = {
    clients: [
      {
        client_id: OIDC_CLIENT.clientId,
        client_secret: OIDC_CLIENT.clientSecret,
        redirect_uris: opts.redirectUris,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_post',
      },
    ],
    async findAccount(_ctx, id) {
      const account = accounts.get(id);
      // A disabled or deleted account is unknown to the provider: its refresh tokens stop working.
      if (!account || account.disabled) return undefined;
      return {
        accountId: id,
        claims: async () => ({ sub: id, email: account.email, email_verified: account.emailVerified, name: account.name, groups: account.groups }),
      };
    },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
    scopes: ['openid', 'offline_access', 'email', 'profile', 'groups'],
    // Scope claims in the ID token too (not only at UserInfo), as Google and Entra do.
    conformIdTokenClaims: false,
    // Refresh tokens for every code grant, without offline_access and its forced consent, so refresh re-checks can be tested.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    features: { devInteractions: { enabled: true } },
    cookies: { keys: ['oidc-peer-cookie-key-for-tests-only'] },
    pkce: { required: () => true },
    jwks: { keys: [jwk] },
  };
  const provider = new Provider(issuer, configuration);
  provider.use(async (ctx, next) => {
    await next();
    const body = ctx.body as { id_token?: string } | undefined;
    if (!peer.idTokenClaims || ctx.path !== '/token' || typeof body?.id_token !== 'string') return;
    const claims = peer.idTokenClaims(decodeJwt(body.id_token));
    body.id_token = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: jwk.kid, typ: 'JWT' }).sign(signingKey);
  });
  server.on('request', provider.callback());
  return {
    issuer,
    accounts,
    /** Set: every ID token the token endpoint issues is re-signed (same key) with these claims instead. */
    set idTokenClaims(fn: ((claims: JWTPayload) => JWTPayload) | null) {
      peer.idTokenClaims = fn;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
export type OidcPeer = Awaited<ReturnType<typeof startOidcProvider>>;
