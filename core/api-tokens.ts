import { createHash, randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { ROLE_PERMISSIONS, intersectPermissions, type Permission } from '../contracts/permissions.ts';
import { apiTokenRow, type TeamRole } from '../db/repositories/access.ts';
import { recordApiTokensUsed } from '../db/repositories/api-tokens.ts';
import type { Principal } from './access.ts';
import type { AppCache } from './cache/cache.ts';
import { cacheTags } from './cache/tags.ts';
import { AuthenticationError } from './errors.ts';
import type { Logger } from './logger.ts';
import { PRINCIPAL_TTL_MS } from './principal.ts';

/**
 * What every API token starts with: tells it from a JWT without parsing, and lets secret scanners
 * recognise a leaked one.
 */
export const API_TOKEN_PREFIX = 'osat_';
export const isApiToken = (token: string): boolean => token.startsWith(API_TOKEN_PREFIX);

// The token is 256 random bits: nobody can guess it or brute-force its hash, so a fast hash loses
// nothing against a slow one (those exist to stretch low-entropy passwords) and lets every request
// look it up by an index on the hash. A database leak yields hashes no client can use.
export const hashApiToken = (token: string): string => createHash('sha256').update(token).digest('hex');

/** A new token: shown once to its creator; only its hash and a short prefix are kept. */
export function mintApiToken(): { token: string; hash: string; prefix: string } {
  const token = `${API_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  return { token, hash: hashApiToken(token), prefix: token.slice(0, API_TOKEN_PREFIX.length + 6) };
}

/** What a platform admin holds in any team: everything a team admin holds, which is every permission. */
const ALL_PERMISSIONS: readonly Permission[] = ROLE_PERMISSIONS.admin;

/** How often the last-used times gathered in memory are written (one UPDATE for all tokens used meanwhile). */
const LAST_USED_FLUSH_MS = 10_000;
/** Hash → token and creator, remembered per process: that mapping never changes, only the token's state does. */
const KNOWN_MAX = 10_000;

type TokenIds = { tokenId: string; userId: string };
type CachedTokenPrincipal = (Principal & { expiresAtMs: number }) | { refused: string };

export type ApiTokenPrincipal = Principal & { apiTokenId: string; jti: string; exp: number; family: string };

export type ApiTokenService = {
  /**
   * The caller behind a token: its creator, limited to the token's team and scope (intersected with
   * what the creator holds there now, so a creator's lost role is the token's too). Cached like the
   * principal of a session: revocation, a disabled creator or a role change is seen within a second.
   */
  /** `em` is called only on a cache miss: most requests are answered from the cache and need no entity manager. */
  principal: (em: () => EntityManager, token: string) => Promise<ApiTokenPrincipal>;
  /** Writes the last-used times gathered so far now (also on a timer, and on close). */
  flush: () => Promise<void>;
  close: () => Promise<void>;
};

export function createApiTokenService(opts: { cache: AppCache; em: () => EntityManager; logger: Logger }): ApiTokenService {
  const known = new Map<string, TokenIds>();
  const lastUsed = new Map<string, Date>();

  async function ids(em: () => EntityManager, hash: string): Promise<TokenIds | null> {
    const hit = known.get(hash);
    if (hit) return hit;
    // Cached in both layers, unknown hashes too: a token id never changes, and a hash unknown now is
    // one of 2^256 that nobody holds, so a stream of bad tokens costs no query after the first.
    const found = await opts.cache.getOrSet<TokenIds | null>(`apitoken-id:${hash}`, { ttlMs: 60_000, tags: [] }, async () => {
      const row = await apiTokenRow(em(), hash);
      return row ? { tokenId: row.tokenId, userId: row.id } : null;
    });
    if (found) {
      if (known.size >= KNOWN_MAX) known.delete(known.keys().next().value!);
      known.set(hash, found);
    }
    return found;
  }

  async function load(em: () => EntityManager, hash: string): Promise<CachedTokenPrincipal> {
    const row = await apiTokenRow(em(), hash);
    if (!row) return { refused: 'invalid API token' };
    if (row.revoked) return { refused: 'API token revoked' };
    if (row.disabled) return { refused: 'account not active' };
    const membership = row.teams.find((t) => t.teamId === row.teamId);
    const held = row.isAdmin ? ALL_PERMISSIONS : (membership?.permissions ?? []);
    const team: TeamRole = {
      teamId: row.teamId,
      slug: membership?.slug ?? row.teamSlug,
      name: membership?.name ?? row.teamName,
      role: membership?.role ?? 'admin',
      customRole: membership?.customRole ?? null,
      permissions: intersectPermissions(row.scope, held),
      approvalTargets: membership?.approvalTargets ?? null,
      requireMfa: false,
    };
    return { id: row.id, email: row.email, name: row.name, isAdmin: false, apiTokenId: row.tokenId, teams: [team], expiresAtMs: row.expiresAt.getTime() };
  }

  async function flush(): Promise<void> {
    if (lastUsed.size === 0) return;
    const batch = [...lastUsed];
    lastUsed.clear();
    try {
      await recordApiTokensUsed(opts.em(), batch);
    } catch (err) {
      opts.logger.warn({ err, tokens: batch.length }, 'recording API tokens’ last use failed; tried again at the next flush');
      for (const [id, at] of batch) if (!lastUsed.has(id)) lastUsed.set(id, at);
    }
  }
  const timer = setInterval(() => void flush(), LAST_USED_FLUSH_MS);
  timer.unref();

  return {
    async principal(em, token) {
      const hash = hashApiToken(token);
      const found = await ids(em, hash);
      if (!found) throw new AuthenticationError('invalid API token');
      const cached = await opts.cache.getOrSet<CachedTokenPrincipal>(
        `apitoken:${found.tokenId}`,
        { ttlMs: PRINCIPAL_TTL_MS, tags: [cacheTags.user(found.userId), cacheTags.session(found.tokenId)] },
        () => load(em, hash),
      );
      if ('refused' in cached) throw new AuthenticationError(cached.refused);
      if (cached.expiresAtMs <= Date.now()) throw new AuthenticationError('API token expired');
      lastUsed.set(found.tokenId, new Date());
      const { expiresAtMs, ...principal } = cached;
      return { ...principal, apiTokenId: found.tokenId, jti: found.tokenId, family: found.tokenId, exp: Math.floor(expiresAtMs / 1000) };
    },
    flush,
    async close() {
      clearInterval(timer);
      await flush();
    },
  };
}
