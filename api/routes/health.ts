import Router from '@koa/router';
import type { AppDeps, AppRouter, AppState } from '../context.ts';

// Placeholder so the app composes while this router is being written.
export function healthRoutes(_deps: AppDeps): AppRouter {
  return new Router<AppState>();
}
