import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Router from '@koa/router';
import type { AppContext, AppDeps, AppRouter, AppState } from '../context.ts';

const DIST = fileURLToPath(new URL('../../web/dist/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json',
};

/** Paths that belong to the API; they never fall back to the dashboard's index.html. */
const API_PATH = /^\/(api|ws|health|metrics|cache)(\/|$)/;

/**
 * Serves the built dashboard (web/dist, `npm run build:web`). Vite's hashed files under /assets/ never
 * change under a name, so they are cached for a year as immutable; index.html is revalidated on every
 * load (no-cache + ETag), so a deploy reaches browsers at once. Any other non-API path answers with
 * index.html: the dashboard routes in the browser.
 */
export function webRoutes(_deps: AppDeps): AppRouter {
  const router = new Router<AppState>();
  router.get('/{*path}', async (ctx, next) => {
    if (API_PATH.test(ctx.path)) return next();
    const file = resolveFile(ctx.path);
    if (file) return sendFile(ctx, file);
    // A missing hashed asset is a real 404 (an old page asking for a file a deploy removed).
    if (ctx.path.startsWith('/assets/') || path.extname(ctx.path) !== '') return next();
    const index = path.join(DIST, 'index.html');
    if (!fs.existsSync(index)) {
      ctx.status = 503;
      ctx.type = 'text/plain';
      ctx.body = 'The dashboard is not built: run `npm run build:web`.\n';
      return;
    }
    return sendFile(ctx, index);
  });
  return router;
}

/** A regular file inside DIST for this URL path, or null; `..` and encoded escapes cannot leave DIST. */
function resolveFile(urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0')) return null;
  const file = path.resolve(DIST, `.${path.posix.normalize(decoded)}`);
  if (!file.startsWith(DIST) || file === DIST.replace(/\/$/, '')) return null;
  try {
    return fs.statSync(file).isFile() ? file : null;
  } catch {
    return null;
  }
}

async function sendFile(ctx: AppContext, file: string): Promise<void> {
  const stat = await fs.promises.stat(file);
  const hashed = file.startsWith(path.join(DIST, 'assets') + path.sep);
  const isIndex = path.basename(file) === 'index.html';
  ctx.set('Cache-Control', hashed ? 'public, max-age=31536000, immutable' : isIndex ? 'no-cache' : 'public, max-age=3600');
  ctx.set('Last-Modified', stat.mtime.toUTCString());
  ctx.set('ETag', `W/"${stat.size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}"`);
  ctx.type = TYPES[path.extname(file)] ?? 'application/octet-stream';
  ctx.status = 200;
  if (ctx.fresh) {
    ctx.status = 304;
    return;
  }
  ctx.length = stat.size;
  ctx.body = ctx.method === 'HEAD' ? null : fs.createReadStream(file);
}
