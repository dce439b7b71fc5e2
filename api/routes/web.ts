import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { send } from '@koa/send';
import compose from 'koa-compose';
import type Koa from 'koa';
import conditional from 'koa-conditional-get';
import etag from '@koa/etag';

const DIST = fileURLToPath(new URL('../../web/dist/', import.meta.url));

/** Paths that belong to the API; they never fall back to the dashboard's index.html. */
const API_PATH = /^\/(api|ws|health|metrics|cache)(\/|$)/;

const CACHE = {
  // Vite's hashed files never change under a name.
  hashed: 'public, max-age=31536000, immutable',
  other: 'public, max-age=3600',
  // Revalidated on every load (ETag), so a deploy reaches browsers at once.
  index: 'no-cache',
};

/**
 * Serves the built dashboard (web/dist, `npm run build:web`) with @koa/send, which also refuses paths
 * that would leave web/dist; ETag + conditional GET answer 304 for unchanged files. Any other non-API
 * GET answers with index.html: the dashboard routes in the browser. Plain middleware after the API
 * routers rather than a catch-all route, so API paths keep their own 404 and 405 (and Allow).
 */
export function dashboard(): Koa.Middleware<Koa.DefaultState, Koa.Context> {
  return compose([conditional(), etag(), async (ctx, next) => {
    if (API_PATH.test(ctx.path) || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return next();
    if (path.extname(ctx.path) !== '') {
      // send() only sets Cache-Control when none is set, so the policy here wins.
      ctx.set('Cache-Control', ctx.path.startsWith('/assets/') ? CACHE.hashed : CACHE.other);
      try {
        await send(ctx, ctx.path, { root: DIST, index: false });
        return;
      } catch (err) {
        ctx.remove('Cache-Control');
        // A missing file (an old page asking for an asset a deploy removed) is a real 404.
        if ((err as { status?: number }).status === 404) return next();
        throw err;
      }
    }
    if (!fs.existsSync(path.join(DIST, 'index.html'))) {
      ctx.status = 503;
      ctx.type = 'text/plain';
      ctx.body = 'The dashboard is not built: run `npm run build:web`.\n';
      return;
    }
    ctx.set('Cache-Control', CACHE.index);
    await send(ctx, 'index.html', { root: DIST, index: false });
  }]);
}
