import { createHash, randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { recordAudit } from '../db/repositories/audit.ts';
import { claimRefreshToken, createRefreshTokenRow, findRefreshToken, revokeRefreshFamily } from '../db/repositories/refresh-tokens.ts';
import { findUser } from '../db/repositories/users.ts';
import { AuthenticationError } from './errors.ts';
import type { TokenService } from './tokens.ts';

export type Session = { accessToken: string; refreshToken: string; expiresIn: number; family: string; userId: string };

export type SessionService = {
  /** A new login: a fresh refresh family, its first refresh token and an access token bound to it. */
  start: (em: EntityManager, userId: string) => Promise<Session>;
  /**
   * Trades a refresh token for a new pair in the same family. A token that was already used (or
   * revoked) is a replay: the whole family is revoked, rows and live access tokens alike.
   */
  rotate: (em: EntityManager, refreshToken: string, ip?: string | null) => Promise<Session>;
  /** Ends the family: its refresh tokens stop rotating and its access tokens stop verifying. */
  revoke: (em: EntityManager, family: string) => Promise<void>;
};

// The token is opaque random bytes; only its SHA-256 is stored, so a database leak yields nothing usable.
// 256 bits of entropy make a slow hash unnecessary.
const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

export function createSessionService(opts: { tokens: TokenService; refreshTtlSeconds: number }): SessionService {
  const { tokens } = opts;

  async function issue(em: EntityManager, userId: string, family: string): Promise<Session> {
    const refreshToken = randomBytes(32).toString('base64url');
    createRefreshTokenRow(em, {
      userId,
      family,
      tokenHash: hashToken(refreshToken),
      expiresAt: new Date(Date.now() + opts.refreshTtlSeconds * 1000),
    });
    await em.flush();
    const access = await tokens.signAccess(userId, family);
    const expiresIn = Math.round((access.expiresAt.getTime() - Date.now()) / 1000);
    return { accessToken: access.token, refreshToken, expiresIn, family, userId };
  }

  async function revoke(em: EntityManager, family: string): Promise<void> {
    await revokeRefreshFamily(em, family);
    await tokens.revokeFamily(family);
  }

  return {
    start: (em, userId) => issue(em, userId, crypto.randomUUID()),
    revoke,
    async rotate(em, refreshToken, ip) {
      const row = await findRefreshToken(em, hashToken(refreshToken));
      if (!row) throw new AuthenticationError('invalid refresh token');
      const userId = (row.user as unknown as { id: string }).id;
      // Revoked rows belong to a family that already ended (logout, or an earlier replay).
      if (row.revokedAt) throw new AuthenticationError('refresh token revoked');
      if (!(await claimRefreshToken(em, row.id))) {
        await revoke(em, row.family);
        recordAudit(em, {
          actor: null,
          action: 'auth.refresh_reuse',
          resourceType: 'session',
          resourceId: row.family,
          ip: ip ?? null,
          data: { userId, tokenId: row.id },
        });
        await em.flush();
        throw new AuthenticationError('refresh token already used; the session has been revoked');
      }
      if (row.expiresAt.getTime() <= Date.now()) throw new AuthenticationError('refresh token expired');
      const user = await findUser(em, { id: userId });
      if (!user || user.disabled) {
        await revoke(em, row.family);
        throw new AuthenticationError('account not active');
      }
      return issue(em, userId, row.family);
    },
  };
}
