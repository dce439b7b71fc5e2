import type Koa from 'koa';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Principal } from '../../core/access.ts';
import { isApiToken } from '../../core/api-tokens.ts';
import { AuthenticationError } from '../../core/errors.ts';
import { principalFor } from '../../core/principal.ts';
import type { AppDeps, AppState } from '../context.ts';

export type AuthenticatedPrincipal = Principal & { jti: string; exp: number; family: string };

/**
 * Verifies an access token (or an API token: core/api-tokens.ts), that its session was not revoked and its account is active, and loads who
 * it belongs to (core/principal.ts: cached for at most a second, invalidated on every change that
 * matters; the record is PostgreSQL, so a revocation holds whether or not Redis is up); shared by HTTP
 * routes and the WebSocket upgrade.
 */
export async function principalFromToken(deps: Pick<AppDeps, 'tokens' | 'cache' | 'apiTokens'>, em: () => EntityManager, token: string): Promise<AuthenticatedPrincipal> {
  if (isApiToken(token)) return deps.apiTokens.principal(em, token);
  const claims = await deps.tokens.verifyAccess(token);
  const principal = await principalFor(deps.cache, em, claims.sub, claims.family);
  return { ...principal, jti: claims.jti, exp: claims.exp, family: claims.family };
}

export function bearerToken(header: string | undefined): string | null {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  return m?.[1]?.trim() || null;
}

/** Requires a valid bearer token; sets ctx.state.principal. */
export function authenticate(deps: Pick<AppDeps, 'tokens' | 'cache' | 'apiTokens'>): Koa.Middleware<AppState> {
  return async (ctx, next) => {
    const token = bearerToken(ctx.get('Authorization'));
    if (!token) throw new AuthenticationError('missing bearer token');
    ctx.state.principal = await principalFromToken(deps, () => ctx.state.em, token);
    await next();
  };
}
