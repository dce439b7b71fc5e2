import Router from '@koa/router';
import { buildOpenApiDocument } from '../openapi/document.ts';
import { DOCS_HTML, DOCS_JS } from '../openapi/docs-page.ts';
import type { AppDeps, AppRouter, AppState } from '../context.ts';

/** The OpenAPI 3.1 document and the page that renders it; public, built once per app. */
export function openApiRoutes(deps: AppDeps): AppRouter {
  const router = new Router<AppState>({ prefix: '/api/v1' });
  const document = JSON.stringify(buildOpenApiDocument({ serverUrl: deps.config.PUBLIC_URL ?? '/' }));

  router.get('/openapi.json', (ctx) => {
    ctx.type = 'application/json';
    ctx.set('Cache-Control', 'no-cache');
    ctx.body = document;
  });
  router.get('/docs', (ctx) => {
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = DOCS_HTML;
  });
  router.get('/docs/app.js', (ctx) => {
    ctx.type = 'text/javascript; charset=utf-8';
    ctx.body = DOCS_JS;
  });
  return router;
}
