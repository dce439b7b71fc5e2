import type Koa from 'koa';
import { DomainError } from '../../core/errors.ts';
import type { AppRouter } from '../context.ts';

/**
 * Runs around every router: a path some router serves, asked with a method none of them serves, is a
 * 405 whose Allow lists the methods of all routers together (each router's own allowedMethods() would
 * only know its own, and answers 501 to methods it has never heard of). OPTIONS answers 204 with Allow.
 */
export function methodNotAllowed(routers: readonly AppRouter[]): Koa.Middleware {
  return async (ctx, next) => {
    await next();
    if (ctx.status !== 404 || ctx.body !== undefined) return;
    const allowed = new Set<string>();
    // Routes only: a router's use() middleware matches every path and serves no method.
    const layers = routers.flatMap((router) => router.match(ctx.path, ctx.method).path).filter((layer) => layer.methods.length > 0);
    // As in OpenAPI, a concrete path wins over a template that also matches it (/alerts/alertmanager over /alerts/{id}).
    const concrete = layers.filter((layer) => !layer.paramNames.length);
    for (const layer of concrete.length ? concrete : layers) for (const method of layer.methods) allowed.add(method);
    if (allowed.size === 0) return;
    const allow = [...allowed].join(', ');
    ctx.set('Allow', allow);
    if (ctx.method === 'OPTIONS') {
      ctx.status = 204;
      return;
    }
    throw new DomainError(405, 'Method not allowed', `${ctx.method} is not allowed here; use ${allow}`);
  };
}
