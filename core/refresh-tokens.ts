import { createHash, randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Redis } from 'ioredis';
import { recordAudit } from '../db/repositories/audit.ts';
import {
  createRefreshFamilyRow,
  createRefreshTokenRow,
  findRefreshToken,
  isRefreshFamilyLive,
  lockRefreshFamily,
  markRefreshTokenUsed,
  revokeRefreshFamily,
  touchRefreshFamily,
  type SessionClient,
} from '../db/repositories/refresh-tokens.ts';
import { findUser } from '../db/repositories/users.ts';
import type { AppCache } from './cache/cache.ts';
import { cacheTags } from './cache/tags.ts';
import { AuthenticationError } from './errors.ts';
import type { Logger } from './logger.ts';
import type { RedisKeys } from './redis.ts';
import type { TokenService } from './tokens.ts';

export type Session = { accessToken: string; refreshToken: string; expiresIn: number; family: string; userId: string };

export type SessionService = {
  /** A new login: a fresh refresh family, its first refresh token and an access token bound to it. */
  start: (em: EntityManager, userId: string, client?: SessionClient) => Promise<Session>;
  /**
   * Trades a refresh token for a new pair in the same family. A token that was already used is a
   * replay, however close in time: the whole family is revoked for good, rows and access tokens alike.
   */
  rotate: (em: EntityManager, refreshToken: string, ip?: string | null) => Promise<Session>;
  /** Ends the family: its refresh tokens stop rotating and its access tokens stop verifying. */
  revoke: (em: EntityManager, family: string, reason: string) => Promise<void>;
  /** Whether an access token of this family may still be used (checked in PostgreSQL on every request). */
  isLive: (em: EntityManager, family: string) => Promise<boolean>;
  /**
   * Tells every API process that these families ended, so their open WebSockets close now. Best effort:
   * the record is PostgreSQL, which sockets re-check on their own while this channel is down.
   */
  announce: (families: string[]) => Promise<void>;
  /**
   * These users' access changed (membership, role, admin flag, second factor, disabled): every API
   * process drops their cached principals, and their open WebSockets read theirs again, so a member
   * removed from a team stops receiving its runs and alerts at once. Best effort like `announce`: the
   * sockets also re-read every principal on their own while this channel is down.
   */
  accessChanged: (userIds: string[]) => Promise<void>;
};

// The token is opaque random bytes; only its SHA-256 is stored, so a database leak yields nothing usable.
// 256 bits of entropy make a slow hash unnecessary.
const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

type Rotation = { session: Session } | { failure: string; revokedFamily?: string };

export function createSessionService(opts: {
  tokens: TokenService;
  refreshTtlSeconds: number;
  redis: Redis;
  keys: RedisKeys;
  logger: Logger;
  /** The cached principals of ended sessions are dropped in every process as they are announced. */
  cache?: Pick<AppCache, 'invalidate'>;
}): SessionService {
  const { tokens } = opts;

  /** Queues the new refresh token and signs its access token; the caller's transaction commits both. */
  async function issue(em: EntityManager, userId: string, family: string): Promise<Session> {
    const refreshToken = randomBytes(32).toString('base64url');
    createRefreshTokenRow(em, { userId, family, tokenHash: hashToken(refreshToken), expiresAt: new Date(Date.now() + opts.refreshTtlSeconds * 1000) });
    const access = await tokens.signAccess(userId, family);
    const expiresIn = Math.round((access.expiresAt.getTime() - Date.now()) / 1000);
    return { accessToken: access.token, refreshToken, expiresIn, family, userId };
  }

  async function publish(message: { families: string[] } | { users: string[] }): Promise<void> {
    try {
      await opts.redis.publish(opts.keys.revocationsChannel, JSON.stringify(message));
    } catch (err) {
      opts.logger.warn({ err }, 'announcing a session or access change failed; open sockets find out from PostgreSQL');
    }
  }

  async function announce(families: string[]): Promise<void> {
    if (families.length === 0) return;
    await opts.cache?.invalidate(families.map(cacheTags.session));
    await publish({ families });
  }

  async function accessChanged(userIds: string[]): Promise<void> {
    if (userIds.length === 0) return;
    await opts.cache?.invalidate(userIds.map(cacheTags.user));
    await publish({ users: userIds });
  }

  /** One transaction under the family's lock; the outcome is returned, not thrown, so a revocation commits. */
  async function rotation(em: EntityManager, refreshToken: string, ip: string | null): Promise<Rotation> {
    return em.transactional(async (tx) => {
      const row = await findRefreshToken(tx, hashToken(refreshToken));
      if (!row) return { failure: 'invalid refresh token' };
      const userId = (row.user as unknown as { id: string }).id;
      const family = await lockRefreshFamily(tx, row.family);
      // Re-read under the lock: a concurrent rotation of the same token may have just used it.
      await tx.refresh(row);
      if (!family || family.revokedAt || row.revokedAt) return { failure: 'refresh token revoked' };
      if (row.usedAt) {
        await revokeRefreshFamily(tx, row.family, 'refresh-reuse');
        recordAudit(tx, { actor: null, action: 'auth.refresh_reuse', resourceType: 'session', resourceId: row.family, ip, data: { userId, tokenId: row.id } });
        return { failure: 'refresh token already used; the session has been revoked', revokedFamily: row.family };
      }
      if (row.expiresAt.getTime() <= Date.now()) return { failure: 'refresh token expired' };
      const user = await findUser(tx, { id: userId });
      if (!user || user.disabled) {
        await revokeRefreshFamily(tx, row.family, 'account-inactive');
        return { failure: 'account not active', revokedFamily: row.family };
      }
      await markRefreshTokenUsed(tx, row.id);
      await touchRefreshFamily(tx, row.family, ip);
      // Signed before the commit, so it cannot outlive a revocation that follows the commit.
      return { session: await issue(tx, userId, row.family) };
    });
  }

  return {
    announce,
    accessChanged,
    isLive: (em, family) => isRefreshFamilyLive(em, family),
    async start(em, userId, client) {
      const family = crypto.randomUUID();
      return em.transactional(async (tx) => {
        createRefreshFamilyRow(tx, { id: family, userId, client });
        return issue(tx, userId, family);
      });
    },
    async revoke(em, family, reason) {
      await em.transactional(async (tx) => {
        if (await lockRefreshFamily(tx, family)) await revokeRefreshFamily(tx, family, reason);
      });
      await announce([family]);
    },
    async rotate(em, refreshToken, ip) {
      const outcome = await rotation(em, refreshToken, ip ?? null);
      if ('session' in outcome) return outcome.session;
      if (outcome.revokedFamily) await announce([outcome.revokedFamily]);
      throw new AuthenticationError(outcome.failure);
    },
  };
}
