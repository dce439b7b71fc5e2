import Router from '@koa/router';
import { z } from 'zod';
import { ROLES, ROLE_PERMISSIONS } from '../../contracts/permissions.ts';
import { hashPassword, verifyPassword } from '../../core/passwords.ts';
import { AuthenticationError, PasswordChangeRequiredError } from '../../core/errors.ts';
import { createSessionService } from '../../core/refresh-tokens.ts';
import { recordAudit } from '../../db/repositories/audit.ts';
import { deleteExpiredRefreshTokens } from '../../db/repositories/refresh-tokens.ts';
import { findUser, findUserForLogin } from '../../db/repositories/users.ts';
import type { AppDeps, AppRouter, AppState } from '../context.ts';
import { authenticate, bearerToken } from '../middleware/auth.ts';
import { rateLimitLogin, rateLimitPerUser } from '../middleware/rate-limit.ts';
import { changePassword, setInitialPassword } from '../services/users.ts';

export const loginRequestSchema = z.object({
  email: z.email().max(320),
  password: z.string().min(1).max(1024),
});

export const refreshRequestSchema = z.object({
  refreshToken: z.string().min(1).max(512),
});

export const changePasswordRequestSchema = z
  .object({
    currentPassword: z.string().min(1).max(1024),
    newPassword: z.string().min(12, 'at least 12 characters').max(1024),
  })
  .refine((b) => b.newPassword !== b.currentPassword, { message: 'must differ from the current password', path: ['newPassword'] });

export const initialPasswordRequestSchema = z.object({
  email: z.email().max(320),
  currentPassword: z.string().min(1).max(1024).describe('the one-time password an admin set'),
  newPassword: z.string().min(12, 'at least 12 characters').max(1024),
});

export const publicUserSchema = z.object({
  id: z.uuid(),
  email: z.string(),
  name: z.string(),
  isAdmin: z.boolean().describe('platform administrator'),
});

export const tokenResponseSchema = z.object({
  tokenType: z.literal('Bearer'),
  accessToken: z.string().describe('JWT (HS256); send as `Authorization: Bearer …`'),
  refreshToken: z.string().describe('opaque, single use; trade it at /auth/refresh'),
  expiresIn: z.number().int().describe('access token lifetime in seconds'),
  user: publicUserSchema,
});

export const meResponseSchema = z.object({
  user: publicUserSchema,
  teams: z.array(
    z.object({
      id: z.uuid(),
      slug: z.string(),
      name: z.string(),
      role: z.enum(ROLES),
      permissions: z.array(z.string()),
    }),
  ),
});

const publicUser = (u: { id: string; email: string; name: string; isAdmin: boolean }) => ({ id: u.id, email: u.email, name: u.name, isAdmin: u.isAdmin });

/** Login, refresh-token rotation, logout, password change, and who-am-I. */
export function authRoutes(deps: AppDeps): AppRouter {
  const router = new Router<AppState>({ prefix: '/api/v1' });
  const sessions = createSessionService({ tokens: deps.tokens, refreshTtlSeconds: deps.config.REFRESH_TOKEN_TTL_SECONDS });
  const signedIn = [authenticate(deps.tokens), rateLimitPerUser(deps)];
  // Unknown emails are checked against this hash too, so both failures cost one argon2 verify and
  // response time does not reveal which emails have accounts.
  const dummyHash = hashPassword(crypto.randomUUID());

  router.post('/auth/login', rateLimitLogin(deps), async (ctx) => {
    const body = loginRequestSchema.parse(ctx.request.body ?? {});
    const em = ctx.state.em;
    const user = await findUserForLogin(em, body.email);
    const ok = await verifyPassword(user?.passwordHash ?? (await dummyHash), body.password);
    if (!user || !ok || user.disabled) throw new AuthenticationError('invalid email or password');
    if (user.passwordChangeRequired) throw new PasswordChangeRequiredError();
    recordAudit(em, { actor: { id: user.id, email: user.email }, action: 'auth.login', resourceType: 'user', resourceId: user.id, ip: ctx.ip });
    await deleteExpiredRefreshTokens(em, { userId: user.id });
    const session = await sessions.start(em, user.id);
    ctx.body = { tokenType: 'Bearer', accessToken: session.accessToken, refreshToken: session.refreshToken, expiresIn: session.expiresIn, user: publicUser(user) };
  });

  // First sign-in with a password an admin set: it only buys the chance to set one's own, then a session.
  router.post('/auth/password/initial', rateLimitLogin(deps), async (ctx) => {
    const body = initialPasswordRequestSchema.parse(ctx.request.body ?? {});
    const user = await setInitialPassword(ctx.state.em, ctx.ip, body);
    const session = await sessions.start(ctx.state.em, user.id);
    ctx.body = { tokenType: 'Bearer', accessToken: session.accessToken, refreshToken: session.refreshToken, expiresIn: session.expiresIn, user: publicUser(user) };
  });

  // No per-IP limit here: a refresh token carries 256 random bits, so guessing one is not a threat,
  // and failures must not lock out the logins that share the address.
  router.post('/auth/refresh', async (ctx) => {
    const body = refreshRequestSchema.parse(ctx.request.body ?? {});
    const em = ctx.state.em;
    const session = await sessions.rotate(em, body.refreshToken, ctx.ip);
    // A long-lived session leaves one used row per rotation; its expired ones go here, a bounded batch at a time.
    await deleteExpiredRefreshTokens(em, { family: session.family });
    const user = await findUser(em, { id: session.userId });
    if (!user) throw new AuthenticationError('account not active');
    ctx.body = { tokenType: 'Bearer', accessToken: session.accessToken, refreshToken: session.refreshToken, expiresIn: session.expiresIn, user: publicUser(user) };
  });

  router.post('/auth/logout', ...signedIn, async (ctx) => {
    // authenticate() already verified this token; the claims carry the refresh family to end.
    const claims = await deps.tokens.verifyAccess(bearerToken(ctx.get('Authorization'))!);
    const { principal, em } = ctx.state;
    await deps.tokens.revokeAccess(claims);
    if (claims.family) await sessions.revoke(em, claims.family);
    recordAudit(em, {
      actor: { id: principal.id, email: principal.email },
      action: 'auth.logout',
      resourceType: 'session',
      resourceId: claims.family ?? claims.jti,
      ip: ctx.ip,
    });
    await em.flush();
    ctx.status = 204;
  });

  router.post('/auth/password', ...signedIn, async (ctx) => {
    const body = changePasswordRequestSchema.parse(ctx.request.body ?? {});
    // The claims name this session's refresh family, the one that stays signed in.
    const claims = await deps.tokens.verifyAccess(bearerToken(ctx.get('Authorization'))!);
    await changePassword(ctx.state.em, deps.tokens, { principal: ctx.state.principal, ip: ctx.ip }, claims.family, body);
    ctx.status = 204;
  });

  router.get('/me', ...signedIn, (ctx) => {
    const { principal } = ctx.state;
    ctx.body = {
      user: publicUser(principal),
      teams: principal.teams.map((t) => ({ id: t.teamId, slug: t.slug, name: t.name, role: t.role, permissions: [...ROLE_PERMISSIONS[t.role]] })),
    };
  });

  return router;
}
