import Koa from 'koa';
import cors from '@koa/cors';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AppDeps, AppState } from './context.ts';
import { errorMapper, logStreamErrors } from './middleware/errors.ts';
import { COMPRESSION_THRESHOLD, compression } from './middleware/compression.ts';
import { jsonBody } from './middleware/json-body.ts';
import { methodNotAllowed } from './middleware/methods.ts';
import { httpMetrics } from './middleware/metrics.ts';
import { requestContext } from './middleware/request-context.ts';
import { securityHeaders } from './middleware/security-headers.ts';
import { authRoutes } from './routes/auth.ts';
import { adminRoutes } from './routes/admin.ts';
import { runRoutes } from './routes/runs.ts';
import { integrationRoutes } from './routes/integrations.ts';
import { scheduleRoutes } from './routes/schedules.ts';
import { monitoringRoutes } from './routes/monitoring.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { costRoutes } from './routes/costs.ts';
import { alertRoutes } from './routes/alerts.ts';
import { alertChannelRoutes } from './routes/alerts-channels.ts';
import { contactRoutes } from './routes/contact.ts';
import { onCallRoutes } from './routes/oncall.ts';
import { healthRoutes } from './routes/health.ts';
import { liveness } from './middleware/liveness.ts';
import { openApiRoutes } from './routes/openapi.ts';
import { teamSettingsRoutes } from './routes/team-settings.ts';
import { dashboard } from './routes/web.ts';
import { identityRouters } from './routes/identity.ts';
import { authProviderRoutes } from './routes/auth-providers.ts';
import { ssoRoutes } from './routes/sso.ts';

/** Builds the Koa app; never listens (server.ts does, and attaches the WebSocket hub). */
export function createApp(deps: AppDeps): Koa<AppState> {
  // X-Forwarded-* are not believed wholesale (proxy: false); requestContext takes the client address from
  // X-Forwarded-For only through TRUSTED_PROXIES.
  const app = new Koa<AppState>({ proxy: false });
  logStreamErrors(app, deps.logger);
  app.use(liveness());
  // Outermost after liveness: it picks the document or the REST set by the answer's final type, the
  // error mapper's problem+json included.
  app.use(
    securityHeaders({
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
  // Outside the error mapper, so the status it records is the one the client got.
  app.use(httpMetrics(deps.metrics));
  app.use(errorMapper(deps.logger));
  app.use(requestContext(deps));
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
  app.use(compression({ threshold: COMPRESSION_THRESHOLD }));
  app.use(jsonBody({ limit: deps.config.BODY_LIMIT }));
  // A fresh identity map per request, so nothing loaded for one caller leaks into another's; made on
  // first use, since requests answered from the cache (or /health) never touch the database. Nothing
  // uses MikroORM's global context: every entity manager is this one or an explicit fork.
  app.use((ctx, next) => {
    let em: EntityManager | undefined;
    Object.defineProperty(ctx.state, 'em', { get: () => (em ??= deps.db.em.fork()), enumerable: true, configurable: true });
    return next();
  });

  const routers = apiRouters(deps);
  app.use(methodNotAllowed(routers));
  for (const router of routers) app.use(router.routes());
  app.use(dashboard());
  return app;
}

/** Every router of the API, in the order they are mounted (the OpenAPI test checks each route is documented). */
export function apiRouters(deps: AppDeps) {
  return [healthRoutes(deps), openApiRoutes(deps), authRoutes(deps), adminRoutes(deps), teamSettingsRoutes(deps), runRoutes(deps), integrationRoutes(deps), scheduleRoutes(deps), monitoringRoutes(deps), metricsRoutes(deps), costRoutes(deps), ...alertRoutes(deps), onCallRoutes(deps), contactRoutes(deps), alertChannelRoutes(deps), ...identityRouters(deps), authProviderRoutes(deps), ssoRoutes(deps)];
}
