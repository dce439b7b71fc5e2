import type { EntityManager } from '@mikro-orm/postgresql';
import type { Session, SessionService } from '../../core/refresh-tokens.ts';
import { recordAudit } from '../../db/repositories/audit.ts';
import { deleteExpiredRefreshTokens } from '../../db/repositories/refresh-tokens.ts';

export type SignedInUser = { id: string; email: string; name: string; isAdmin: boolean };

/** How the user proved who they are: `password`, or `sso:<provider slug>`. */
export type SignInMethod = 'password' | `sso:${string}`;

export const publicUser = (u: SignedInUser) => ({ id: u.id, email: u.email, name: u.name, isAdmin: u.isAdmin });

export const tokenResponse = (session: Session, user: SignedInUser) => ({
  tokenType: 'Bearer' as const,
  accessToken: session.accessToken,
  refreshToken: session.refreshToken,
  expiresIn: session.expiresIn,
  user: publicUser(user),
});

/**
 * The one place a proven identity becomes a session (JWT access + rotating refresh family), whether
 * it was proven by a password or by an identity provider: checks every way of signing in must pass
 * (an account that is enabled) belong here, so no path can skip them. A local password's second factor
 * is checked by the login route before this (an identity provider enforces its own).
 */
export async function completeSignIn(
  em: EntityManager,
  sessions: SessionService,
  user: SignedInUser,
  opts: { ip: string | null; userAgent: string | null; method: SignInMethod },
): Promise<{ session: Session; body: ReturnType<typeof tokenResponse> }> {
  recordAudit(em, { actor: { id: user.id, email: user.email }, action: 'auth.login', resourceType: 'user', resourceId: user.id, ip: opts.ip, ...(opts.method === 'password' ? {} : { data: { method: opts.method } }) });
  await deleteExpiredRefreshTokens(em, { userId: user.id });
  const session = await sessions.start(em, user.id, { ip: opts.ip, userAgent: opts.userAgent });
  return { session, body: tokenResponse(session, user) };
}
