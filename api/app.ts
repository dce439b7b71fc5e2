import Koa from 'koa';
import { bodyParser } from '@koa/bodyparser';
import cors from '@koa/cors';
import compress from 'koa-compress';
import helmet from 'koa-helmet';
import { RequestContext } from '@mikro-orm/postgresql';
import type { AppDeps, AppState } from './context.ts';
import { InputError } from '../core/errors.ts';
import { errorMapper } from './middleware/errors.ts';
import { httpMetrics } from './middleware/metrics.ts';
import { authRoutes } from './routes/auth.ts';
import { adminRoutes } from './routes/admin.ts';
import { runRoutes } from './routes/runs.ts';
import { integrationRoutes } from './routes/integrations.ts';
import { healthRoutes } from './routes/health.ts';
import { openApiRoutes } from './routes/openapi.ts';
import { webRoutes } from './routes/web.ts';

/** Builds the Koa app; never listens (server.ts does, and attaches the WebSocket hub). */
export function createApp(deps: AppDeps): Koa<AppState> {
  const app = new Koa<AppState>({ proxy: deps.config.NODE_ENV === 'production' });
  // Outside the error mapper, so the status it records is the one the client got.
  app.use(httpMetrics(deps.metrics));
  app.use(errorMapper(deps.logger));
  app.use(async (ctx, next) => {
    ctx.state.requestId = ctx.get('x-request-id') || crypto.randomUUID();
    ctx.set('X-Request-Id', ctx.state.requestId);
    await next();
  });
  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: {
          defaultSrc: ["'self'"],
          connectSrc: ["'self'", 'ws:', 'wss:'],
          // Only production sits behind TLS; elsewhere (up.sh on a LAN address) it would break every asset.
          upgradeInsecureRequests: deps.config.NODE_ENV === 'production' ? [] : null,
        },
      },
    }),
  );
  app.use(
    cors({
      origin: (ctx) => {
        const origin = ctx.get('Origin');
        return deps.config.CORS_ORIGINS.includes(origin) ? origin : '';
      },
      credentials: true,
      exposeHeaders: ['Retry-After', 'X-Request-Id'],
    }),
  );
  app.use(compress({ threshold: 1024 }));
  app.use(
    bodyParser({
      jsonLimit: deps.config.BODY_LIMIT,
      enableTypes: ['json'],
      encoding: 'utf-8',
      // The parser's error carries the raw body (err.body) and a message quoting it; unexposed, it became a
      // 500 whose log line held whatever the body did (passwords, private keys). Replaced by a plain 400.
      onError: (err) => {
        const e = err as { status?: number; expose?: boolean; message: string };
        if (e.expose) throw err;
        throw new InputError('the request body is not valid JSON', [{ field: '(body)', message: 'not valid JSON' }]);
      },
    }),
  );
  // A fresh identity map per request, so nothing loaded for one caller leaks into another's.
  app.use(async (ctx, next) => {
    ctx.state.em = deps.db.em.fork();
    await RequestContext.create(ctx.state.em, next);
  });

  for (const router of [healthRoutes(deps), openApiRoutes(deps), authRoutes(deps), adminRoutes(deps), runRoutes(deps), integrationRoutes(deps), webRoutes(deps)]) {
    app.use(router.routes());
    app.use(router.allowedMethods());
  }
  return app;
}
