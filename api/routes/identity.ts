import type { AppDeps, AppRouter } from '../context.ts';
import { auditRoutes } from './audit.ts';
import { mfaRoutes } from './mfa.ts';
import { roleRoutes } from './roles.ts';
import { sessionRoutes } from './sessions.ts';
import { tokenRoutes } from './tokens.ts';

/** The routers of access control (tokens, sessions, roles, audit, MFA), mounted together by apiRouters. */
export function identityRouters(deps: AppDeps): AppRouter[] {
  return [tokenRoutes(deps), sessionRoutes(deps), roleRoutes(deps), auditRoutes(deps), mfaRoutes(deps)];
}
