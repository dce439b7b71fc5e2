import type Koa from 'koa';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Principal } from '../../core/access.ts';
import { AuthenticationError } from '../../core/errors.ts';
import { rolesOfUser } from '../../db/repositories/access.ts';
import { UserSchema } from '../../db/entities/index.ts';
import type { AppDeps, AppState } from '../context.ts';

export type AuthenticatedPrincipal = Principal & { jti: string; exp: number; family: string };

/**
 * Verifies an access token, that its session was not revoked (in PostgreSQL, so a revocation holds
 * whether or not Redis is up), and loads who it belongs to; shared by HTTP routes and the WebSocket upgrade.
 */
export async function principalFromToken(deps: Pick<AppDeps, 'tokens' | 'sessions'>, em: EntityManager, token: string): Promise<AuthenticatedPrincipal> {
  const claims = await deps.tokens.verifyAccess(token);
  if (!(await deps.sessions.isLive(em, claims.family))) throw new AuthenticationError('access token revoked');
  const user = await em.findOne(UserSchema, { id: claims.sub });
  if (!user || user.disabled) throw new AuthenticationError('account not active');
  const teams = await rolesOfUser(em, user.id);
  return { id: user.id, email: user.email, name: user.name, isAdmin: user.isAdmin, teams, jti: claims.jti, exp: claims.exp, family: claims.family };
}

export function bearerToken(header: string | undefined): string | null {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  return m?.[1]?.trim() || null;
}

/** Requires a valid bearer token; sets ctx.state.principal. */
export function authenticate(deps: Pick<AppDeps, 'tokens' | 'sessions'>): Koa.Middleware<AppState> {
  return async (ctx, next) => {
    const token = bearerToken(ctx.get('Authorization'));
    if (!token) throw new AuthenticationError('missing bearer token');
    ctx.state.principal = await principalFromToken(deps, ctx.state.em, token);
    await next();
  };
}
