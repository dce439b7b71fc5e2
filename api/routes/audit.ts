import Router from '@koa/router';
import { auditPageSchema, auditQuerySchema } from '../../contracts/identity.ts';
import { can } from '../../core/access.ts';
import { NotAllowedError } from '../../core/errors.ts';
import { auditPage } from '../../db/repositories/audit.ts';
import type { AppDeps, AppRouter, AppState } from '../context.ts';
import { authenticate } from '../middleware/auth.ts';
import { rateLimitPerUser } from '../middleware/rate-limit.ts';

/** The audit log, paged and filtered: platform admins see all of it, team admins their team's entries. */
export function auditRoutes(deps: AppDeps): AppRouter {
  const router = new Router<AppState>({ prefix: '/api/v1' });

  router.get('/audit', authenticate(deps), rateLimitPerUser(deps), async (ctx) => {
    const { principal } = ctx.state;
    const query = auditQuerySchema.parse(ctx.query);
    if (!principal.isAdmin && !(query.teamId && can(principal, query.teamId, 'team:manage'))) {
      throw new NotAllowedError('the audit log is for platform admins; team admins give teamId of their team', [{ field: 'teamId', message: 'a team you manage' }]);
    }
    ctx.body = auditPageSchema.parse(await auditPage(ctx.state.em, query));
  });

  return router;
}
