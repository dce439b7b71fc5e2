import type { EntityManager } from '@mikro-orm/postgresql';
import { principalRow } from '../db/repositories/access.ts';
import type { Principal } from './access.ts';
import type { AppCache } from './cache/cache.ts';
import { cacheTags } from './cache/tags.ts';
import { AuthenticationError } from './errors.ts';

/**
 * How long a principal may be served from the cache without asking PostgreSQL. Invalidation (logout,
 * revocation, disable, role and membership changes) normally reaches every process in milliseconds;
 * this bounds what a lost invalidation (Redis down, a write racing a read) can cost: a disabled user
 * or an ended session is refused within this on every process, whatever happens to Redis.
 */
export const PRINCIPAL_TTL_MS = 1_000;

type CachedPrincipal = Principal | { refused: string };

/**
 * The caller behind a verified token's user and session: user, memberships, and that the session
 * (refresh family) still holds and the account is active, from the cache or PostgreSQL. Refusals are
 * cached too (same tags and TTL): a revoked token replayed in a loop costs no query. `em` is called only
 * on a miss: forking an entity manager for a request the cache answers cost more than the lookup.
 */
export async function principalFor(cache: AppCache, em: () => EntityManager, userId: string, family: string): Promise<Principal> {
  const cached = await cache.getOrSet<CachedPrincipal>(
    `principal:${family}:${userId}`,
    { ttlMs: PRINCIPAL_TTL_MS, tags: [cacheTags.user(userId), cacheTags.session(family)] },
    async () => {
      const row = await principalRow(em(), userId, family);
      if (!row) return { refused: 'account not active' };
      if (!row.sessionLive) return { refused: 'access token revoked' };
      if (row.disabled) return { refused: 'account not active' };
      return { id: row.id, email: row.email, name: row.name, isAdmin: row.isAdmin, mfaEnrolled: row.mfaEnrolled, teams: row.teams };
    },
  );
  if ('refused' in cached) throw new AuthenticationError(cached.refused);
  return cached;
}
