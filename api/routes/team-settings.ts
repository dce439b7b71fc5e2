import Router from '@koa/router';
import { teamPathSchema, teamSettingsPatchSchema } from '../../contracts/teams.ts';
import { cacheTags } from '../../core/cache/tags.ts';
import { settingsOf } from '../../db/repositories/teams.ts';
import type { AppDeps, AppRouter, AppState } from '../context.ts';
import { authenticate } from '../middleware/auth.ts';
import { rateLimitPerUser } from '../middleware/rate-limit.ts';
import { teamFor, updateTeamSettings } from '../services/teams.ts';

/** A team's policy: members read it, team admins (and platform admins) change it. */
export function teamSettingsRoutes(deps: AppDeps): AppRouter {
  const router = new Router<AppState>({ prefix: '/api/v1' });
  const signedIn = [authenticate(deps), rateLimitPerUser(deps)];

  router.get('/teams/:slug/settings', ...signedIn, async (ctx) => {
    const { slug } = teamPathSchema.parse(ctx.params);
    ctx.body = settingsOf(await teamFor(ctx.state.em, ctx.state.principal, slug, 'runs:read'));
  });

  router.patch('/teams/:slug/settings', ...signedIn, async (ctx) => {
    const { slug } = teamPathSchema.parse(ctx.params);
    const team = await teamFor(ctx.state.em, ctx.state.principal, slug, 'team:manage');
    const patch = teamSettingsPatchSchema.parse(ctx.request.body ?? {});
    ctx.body = await updateTeamSettings(ctx.state.em, { principal: ctx.state.principal, ip: ctx.ip }, team.id, patch);
    // Run starts read the team's settings from the cache: the trigger's notification follows, and the
    // admin's next start must not beat it.
    await deps.cache.invalidate([cacheTags.teams]);
  });

  return router;
}
