import Router from '@koa/router';
import { apiTokenListSchema, createApiTokenRequestSchema, idPathSchema } from '../../contracts/identity.ts';
import { can, type Principal } from '../../core/access.ts';
import { mintApiToken } from '../../core/api-tokens.ts';
import { AuthenticationError, NotAllowedError, NotFoundError } from '../../core/errors.ts';
import { holdLiveSession } from '../../db/repositories/refresh-tokens.ts';
import { apiTokensOf, createApiTokenRow, revokeApiTokenRow } from '../../db/repositories/api-tokens.ts';
import { recordAudit } from '../../db/repositories/audit.ts';
import { findTeamBySlug } from '../../db/repositories/teams.ts';
import type { AppDeps, AppRouter, AppState } from '../context.ts';
import { authenticate } from '../middleware/auth.ts';
import { rateLimitPerUser } from '../middleware/rate-limit.ts';

/** A token cannot mint or revoke tokens: a leaked one could otherwise outlive its own revocation. */
export function requireInteractive(principal: Principal, what: string): void {
  if (principal.apiTokenId) throw new NotAllowedError(`${what} needs a signed-in user, not an API token`);
}

/** The caller's API tokens: create (shown once), list, revoke. */
export function tokenRoutes(deps: AppDeps): AppRouter {
  const router = new Router<AppState>({ prefix: '/api/v1' });
  const signedIn = [authenticate(deps), rateLimitPerUser(deps)];

  router.get('/me/tokens', ...signedIn, async (ctx) => {
    // A team's token is no window onto its creator's other tokens (their teams, names, scopes).
    requireInteractive(ctx.state.principal, 'listing API tokens');
    ctx.body = apiTokenListSchema.parse({ items: await apiTokensOf(ctx.state.em, ctx.state.principal.id) });
  });

  router.post('/me/tokens', ...signedIn, async (ctx) => {
    const { principal, em } = ctx.state;
    requireInteractive(principal, 'creating an API token');
    const body = createApiTokenRequestSchema.parse(ctx.request.body ?? {});
    const team = await findTeamBySlug(em, body.team);
    if (!team || !can(principal, team.id, 'runs:read')) throw new NotFoundError('team not found');
    // permissions ⊆ the creator's, checked per entry so the answer names the one that is too much.
    const beyond = body.permissions.map((p, i) => [p, i] as const).filter(([p]) => !can(principal, team.id, p as never));
    if (beyond.length) {
      throw new NotAllowedError(
        `a token may hold only permissions its creator holds in ${team.slug}: not ${beyond.map(([p]) => p).join(', ')}`,
        beyond.map(([, i]) => ({ field: `permissions.${i}`, message: 'not held by you in this team' })),
      );
    }
    const minted = mintApiToken();
    const expiresAt = new Date(Date.now() + body.expiresInDays * 86_400_000);
    const permissions = [...new Set(body.permissions)].sort();
    const row = await em.transactional(async (tx) => {
      // A password reset or disable revokes the user's sessions and tokens in one transaction: a token
      // minted by a session it is revoking must not be committed after it and outlive it.
      if (!(await holdLiveSession(tx, principal.family))) throw new AuthenticationError('session ended');
      const created = createApiTokenRow(tx, { userId: principal.id, teamId: team.id, name: body.name, permissions, tokenHash: minted.hash, prefix: minted.prefix, expiresAt });
      recordAudit(tx, { actor: principal, action: 'api_token.create', resourceType: 'api_token', resourceId: created.id, teamId: team.id, ip: ctx.ip, data: { name: body.name, permissions, expiresAt: expiresAt.toISOString() } });
      return created;
    });
    ctx.status = 201;
    ctx.body = {
      id: row.id,
      name: body.name,
      prefix: minted.prefix,
      team: { id: team.id, slug: team.slug },
      permissions,
      expiresAt: expiresAt.toISOString(),
      lastUsedAt: null,
      revokedAt: null,
      createdAt: new Date().toISOString(),
      token: minted.token,
    };
  });

  router.delete('/me/tokens/:id', ...signedIn, async (ctx) => {
    const { principal, em } = ctx.state;
    const { id } = idPathSchema.parse(ctx.params);
    // A token may revoke itself (a CI job ending its own credential), never another.
    if (principal.apiTokenId && principal.apiTokenId !== id) requireInteractive(principal, 'revoking another API token');
    await em.transactional(async (tx) => {
      if (!(await revokeApiTokenRow(tx, principal.id, id))) throw new NotFoundError('API token not found');
      recordAudit(tx, { actor: principal, action: 'api_token.revoke', resourceType: 'api_token', resourceId: id, ip: ctx.ip });
    });
    // Its cached principal goes in every process, and sockets opened with it close.
    await deps.sessions.announce([id]);
    ctx.status = 204;
  });

  return router;
}
