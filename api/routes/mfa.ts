import Router from '@koa/router';
import { disableMfaRequestSchema, startMfaRequestSchema, totpCodeRequestSchema } from '../../contracts/identity.ts';
import { ConflictError, NotAllowedError, NotFoundError } from '../../core/errors.ts';
import { mfaSecretContext } from '../../core/mfa-check.ts';
import { matchRecoveryCode, newRecoveryCodes, newTotpEnrolment, totpStep } from '../../core/mfa.ts';
import { recordAudit } from '../../db/repositories/audit.ts';
import { deleteMfa, findMfa, lockMfa, putPendingMfa } from '../../db/repositories/mfa.ts';
import type { AppDeps, AppRouter, AppState } from '../context.ts';
import { authenticate } from '../middleware/auth.ts';
import { loginThrottle, rateLimitPerUser } from '../middleware/rate-limit.ts';
import { proveItIsYou } from '../services/reauthentication.ts';
import { normalizeEmail } from '../../db/repositories/users.ts';
import { requireInteractive } from './tokens.ts';

/**
 * TOTP for local accounts: start an enrolment (secret + QR code), confirm it with a first code (then it
 * is required at sign-in, and ten recovery codes are shown once), see the status, remove it. Starting
 * and removing ask for the password again (services/reauthentication.ts).
 */
export function mfaRoutes(deps: AppDeps): AppRouter {
  const router = new Router<AppState>({ prefix: '/api/v1' });
  const signedIn = [authenticate(deps), rateLimitPerUser(deps)];
  const throttle = loginThrottle(deps);

  router.get('/me/mfa', ...signedIn, async (ctx) => {
    const mfa = await findMfa(ctx.state.em, ctx.state.principal.id);
    const enrolled = Boolean(mfa?.enabledAt);
    ctx.body = { enrolled, recoveryCodesLeft: enrolled ? mfa!.recoveryCodes.filter((c) => !c.usedAt).length : 0 };
  });

  router.post('/me/mfa/totp', ...signedIn, async (ctx) => {
    const { principal, em } = ctx.state;
    requireInteractive(principal, 'enrolling a second factor');
    const { currentPassword } = startMfaRequestSchema.parse(ctx.request.body ?? {});
    await proveItIsYou(em, throttle, { principal, ip: ctx.ip }, currentPassword);
    const existing = await findMfa(em, principal.id);
    if (existing?.enabledAt) throw new ConflictError('a second factor is already enrolled: remove it first');
    const enrolment = await newTotpEnrolment(principal.email);
    const sealed = await deps.keyring.seal(enrolment.secret, mfaSecretContext(principal.id));
    await putPendingMfa(em, principal.id, sealed.envelope);
    await em.flush();
    ctx.body = enrolment;
  });

  router.post('/me/mfa/totp/verify', ...signedIn, async (ctx) => {
    const { principal, em } = ctx.state;
    requireInteractive(principal, 'enrolling a second factor');
    const { code } = totpCodeRequestSchema.parse(ctx.request.body ?? {});
    const codes = await em.transactional(async (tx) => {
      const mfa = await lockMfa(tx, principal.id);
      if (!mfa) throw new NotFoundError('no enrolment started: POST /api/v1/me/mfa/totp first');
      if (mfa.enabledAt) throw new ConflictError('the second factor is already enrolled');
      const secret = await deps.keyring.open(mfa.secret, mfaSecretContext(principal.id));
      const step = await totpStep(secret, code, null);
      if (step === null) throw new NotAllowedError('the code does not match: check the authenticator’s clock and try the next code', [{ field: 'code', message: 'does not match' }]);
      const recovery = newRecoveryCodes();
      mfa.enabledAt = new Date();
      mfa.lastStep = step;
      mfa.recoveryCodes = recovery.stored;
      recordAudit(tx, { actor: principal, action: 'mfa.enrol', resourceType: 'user', resourceId: principal.id, ip: ctx.ip, data: { method: 'totp' } });
      return recovery.codes;
    });
    // Teams requiring MFA let the user act from their next request on.
    await deps.sessions.accessChanged([principal.id]);
    ctx.body = { recoveryCodes: codes };
  });

  router.post('/me/mfa/disable', ...signedIn, async (ctx) => {
    const { principal, em } = ctx.state;
    requireInteractive(principal, 'removing a second factor');
    const { code, currentPassword } = disableMfaRequestSchema.parse(ctx.request.body ?? {});
    await proveItIsYou(em, throttle, { principal, ip: ctx.ip }, currentPassword);
    const removed = await em.transactional(async (tx) => {
      const mfa = await lockMfa(tx, principal.id);
      if (!mfa?.enabledAt) throw new NotFoundError('no second factor enrolled');
      const secret = await deps.keyring.open(mfa.secret, mfaSecretContext(principal.id));
      const ok = (await totpStep(secret, code.trim(), mfa.lastStep ?? null)) !== null || matchRecoveryCode(mfa.recoveryCodes, code) >= 0;
      if (!ok) return false;
      await deleteMfa(tx, principal.id);
      recordAudit(tx, { actor: principal, action: 'mfa.remove', resourceType: 'user', resourceId: principal.id, ip: ctx.ip });
      return true;
    });
    // A wrong code is a guess at the second factor, counted like one at sign-in.
    if (!removed) {
      await throttle.failed(normalizeEmail(principal.email));
      throw new NotAllowedError('the code does not match', [{ field: 'code', message: 'does not match' }]);
    }
    await deps.sessions.accessChanged([principal.id]);
    ctx.status = 204;
  });

  return router;
}
