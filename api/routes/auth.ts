import Router from '@koa/router';
import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { ROLES } from '../../contracts/permissions.ts';
import { checkSecondFactor, spendSecondFactor } from '../../core/mfa-check.ts';
import { hashPassword, verifyPassword } from '../../core/passwords.ts';
import { AuthenticationError, NotAllowedError, PasswordChangeRequiredError } from '../../core/errors.ts';
import { recordAudit } from '../../db/repositories/audit.ts';
import { deleteExpiredRefreshTokens } from '../../db/repositories/refresh-tokens.ts';
import { findLoginSecret, findUser, normalizeEmail } from '../../db/repositories/users.ts';
import type { AppDeps, AppRouter, AppState } from '../context.ts';
import { authenticate } from '../middleware/auth.ts';
import { loginThrottle, rateLimitPerUser } from '../middleware/rate-limit.ts';
import { completeSignIn, publicUser } from '../services/sign-in.ts';
import { assertNewPassword, changePassword, setInitialPassword } from '../services/users.ts';
import { requireInteractive } from './tokens.ts';
import { recheckSsoSession } from '../../core/sso/recheck.ts';

export const loginRequestSchema = z.object({
  email: z.email().max(320),
  password: z.string().min(1).max(1024),
  mfaCode: z.string().min(6).max(64).optional().describe('when the account has MFA: the authenticator’s code or an unused recovery code'),
});

export const refreshRequestSchema = z.object({
  refreshToken: z.string().min(1).max(512),
});

// That the new password differs from the current one is checked after the current one is proven
// (services/users.ts): JSON Schema cannot say it, and a wrong current password must be the first answer.
export const changePasswordRequestSchema = z.object({
  currentPassword: z.string().min(1).max(1024),
  newPassword: z.string().min(12, 'at least 12 characters').max(1024),
});

export const initialPasswordRequestSchema = z.object({
  email: z.email().max(320),
  currentPassword: z.string().min(1).max(1024).describe('the one-time password an admin set'),
  newPassword: z.string().min(12, 'at least 12 characters').max(1024),
  mfaCode: loginRequestSchema.shape.mfaCode,
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

/** Login, refresh-token rotation, logout, password change, and who-am-I. */
export function authRoutes(deps: AppDeps): AppRouter {
  const router = new Router<AppState>({ prefix: '/api/v1' });
  const { sessions } = deps;
  const throttle = loginThrottle(deps);
  const signedIn = [authenticate(deps), rateLimitPerUser(deps)];
  // Unknown emails are checked against this hash too, so both failures cost one argon2 verify and
  // response time does not reveal which emails have accounts.
  const dummyHash = hashPassword(crypto.randomUUID());

  /**
   * The account whose password this is, or a counted failed guess. Unknown emails cost the same argon2
   * verify, so neither the answer nor its time tells which emails have accounts.
   */
  async function provePassword(em: EntityManager, account: string, email: string, password: string) {
    const secret = await findLoginSecret(em, email);
    const ok = await verifyPassword(secret?.passwordHash ?? (await dummyHash), password);
    // Loaded only once the password is right: a failure costs the same whether the account exists.
    const user = secret && ok && !secret.disabled ? await findUser(em, { id: secret.id }) : null;
    if (!secret || !user || user.disabled) {
      await throttle.failed(account);
      throw new AuthenticationError('invalid email or password');
    }
    return { user, passwordHash: secret.passwordHash };
  }

  // ---- MFA (api/routes/mfa.ts, core/mfa-check.ts): a wrong second factor is a failed guess too.
  async function proveSecondFactor<T>(account: string, check: Promise<T>): Promise<T> {
    return check.catch(async (err: unknown) => {
      if (err instanceof AuthenticationError) await throttle.failed(account);
      throw err;
    });
  }

  router.post('/auth/login', async (ctx) => {
    const body = loginRequestSchema.parse(ctx.request.body ?? {});
    const em = ctx.state.em;
    const account = normalizeEmail(body.email);
    await throttle.check(ctx.ip, account);
    const { user } = await provePassword(em, account, body.email, body.password);
    // A password an admin set buys only /auth/password/initial, which asks for the second factor
    // itself: asking here too would spend the code the user is about to need there.
    if (user.passwordChangeRequired) throw new PasswordChangeRequiredError();
    await proveSecondFactor(account, checkSecondFactor(deps, em, user, body.mfaCode, ctx.ip));
    await throttle.succeeded(ctx.ip, account);
    ctx.body = (await completeSignIn(em, sessions, user, { ip: ctx.ip, userAgent: ctx.get('User-Agent') || null, method: 'password' })).body;
  });

  // First sign-in with a password an admin set: it buys the chance to set one's own, then a session.
  // An admin's reset keeps the user's second factor, so that is asked for here exactly as at login.
  router.post('/auth/password/initial', async (ctx) => {
    const body = initialPasswordRequestSchema.parse(ctx.request.body ?? {});
    const em = ctx.state.em;
    const account = normalizeEmail(body.email);
    await throttle.check(ctx.ip, account);
    const { user, passwordHash } = await provePassword(em, account, body.email, body.currentPassword);
    if (!user.passwordChangeRequired) {
      await throttle.failed(account);
      throw new AuthenticationError('invalid email or password');
    }
    // Only now, so the policy's answer cannot tell a stranger which emails have accounts; and before
    // the second factor, so a rejected password does not spend the user's code.
    assertNewPassword(user.email, body);
    // The second factor is checked (and a recovery code spent) in the transaction that sets the password,
    // so a change refused there (an admin reset it meanwhile) leaves the code unspent.
    const changed = await proveSecondFactor(
      account,
      setInitialPassword(em, ctx.ip, { userId: user.id, provenHash: passwordHash, newPassword: body.newPassword, secondFactor: (tx) => spendSecondFactor(deps, tx, user, body.mfaCode, ctx.ip) }),
    );
    await throttle.succeeded(ctx.ip, account);
    ctx.body = (await completeSignIn(em, sessions, changed, { ip: ctx.ip, userAgent: ctx.get('User-Agent') || null, method: 'password' })).body;
  });

  // No per-IP limit here: a refresh token carries 256 random bits, so guessing one is not a threat,
  // and failures must not lock out the logins that share the address.
  router.post('/auth/refresh', async (ctx) => {
    const body = refreshRequestSchema.parse(ctx.request.body ?? {});
    const em = ctx.state.em;
    const session = await sessions.rotate(em, body.refreshToken, ctx.ip);
    // A session started through an identity provider holds only while the provider still vouches for the user.
    await recheckSsoSession(deps, em, session);
    // A long-lived session leaves one used row per rotation; its expired ones go here, a bounded batch at a time.
    await deleteExpiredRefreshTokens(em, { family: session.family });
    const user = await findUser(em, { id: session.userId });
    if (!user) throw new AuthenticationError('account not active');
    ctx.body = { tokenType: 'Bearer', accessToken: session.accessToken, refreshToken: session.refreshToken, expiresIn: session.expiresIn, user: publicUser(user) };
  });

  router.post('/auth/logout', ...signedIn, async (ctx) => {
    const { principal, em } = ctx.state;
    // Ends this session for good, and every socket on it, in every API process.
    await sessions.revoke(em, principal.family, 'logout');
    recordAudit(em, { actor: { id: principal.id, email: principal.email }, action: 'auth.logout', resourceType: 'session', resourceId: principal.family, ip: ctx.ip });
    await em.flush();
    ctx.status = 204;
  });

  router.post('/auth/password', ...signedIn, async (ctx) => {
    const body = changePasswordRequestSchema.parse(ctx.request.body ?? {});
    const { principal } = ctx.state;
    requireInteractive(principal, 'changing the password'); // ---- API tokens (api/routes/tokens.ts)
    // A wrong current password is a guess like a failed login: the same per-account and per-address budget.
    const account = normalizeEmail(principal.email);
    await throttle.check(ctx.ip, account);
    const proven = await changePassword(ctx.state.em, sessions, { principal, ip: ctx.ip }, principal.family, body);
    if (!proven) {
      await throttle.failed(account);
      throw new NotAllowedError('the current password is wrong', [{ field: 'currentPassword', message: 'does not match' }]);
    }
    await throttle.succeeded(ctx.ip, account);
    ctx.status = 204;
  });

  router.get('/me', ...signedIn, (ctx) => {
    const { principal } = ctx.state;
    ctx.body = {
      user: publicUser(principal),
      teams: principal.teams.map((t) => ({ id: t.teamId, slug: t.slug, name: t.name, role: t.role, permissions: t.permissions })),
    };
  });

  return router;
}
