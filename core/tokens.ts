import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import type { Redis } from 'ioredis';
import { AuthenticationError } from './errors.ts';
import type { RedisKeys } from './redis.ts';

const ALG = 'HS256';
const ISSUER = 'opssight';
const AUDIENCE = 'opssight-api';

export type AccessClaims = { sub: string; jti: string; exp: number; family?: string };

export type TokenService = {
  signAccess: (userId: string, family?: string) => Promise<{ token: string; jti: string; expiresAt: Date }>;
  verifyAccess: (token: string) => Promise<AccessClaims>;
  /** Revokes one access token until it would have expired anyway. */
  revokeAccess: (claims: Pick<AccessClaims, 'jti' | 'exp'>) => Promise<void>;
  /** Whether a token already verified (an open WebSocket's) has been revoked since. */
  isRevoked: (claims: Pick<AccessClaims, 'jti' | 'family'>) => Promise<boolean>;
  /** Revokes every access token carrying this refresh family (reuse detected, or logout). */
  revokeFamily: (family: string) => Promise<void>;
};

/** Short-lived HS256 access tokens (algorithm pinned on verify) with a Redis revocation list. */
export function createTokenService(opts: { secret: string; ttlSeconds: number; redis: Redis; keys: RedisKeys }): TokenService {
  const key = new TextEncoder().encode(opts.secret);
  // Derived from the prefix here so core/redis.ts stays untouched; one EXISTS checks both markers.
  const revokedFamilyKey = (family: string) => `${opts.keys.prefix}revoked-family:${family}`;
  const isRevoked = async ({ jti, family }: Pick<AccessClaims, 'jti' | 'family'>) => {
    const markers = [opts.keys.revokedJti(jti), ...(family ? [revokedFamilyKey(family)] : [])];
    return (await opts.redis.exists(...markers)) > 0;
  };
  return {
    async signAccess(userId, family) {
      const jti = crypto.randomUUID();
      const expiresAt = new Date(Date.now() + opts.ttlSeconds * 1000);
      const token = await new SignJWT(family ? { fam: family } : {})
        .setProtectedHeader({ alg: ALG })
        .setSubject(userId)
        .setJti(jti)
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt()
        .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
        .sign(key);
      return { token, jti, expiresAt };
    },
    async verifyAccess(token) {
      let payload;
      try {
        ({ payload } = await jwtVerify(token, key, { algorithms: [ALG], issuer: ISSUER, audience: AUDIENCE }));
      } catch (err) {
        const expired = err instanceof joseErrors.JWTExpired;
        throw new AuthenticationError(expired ? 'access token expired' : 'invalid access token');
      }
      if (!payload.sub || !payload.jti || !payload.exp) throw new AuthenticationError('invalid access token');
      const family = typeof payload.fam === 'string' ? payload.fam : undefined;
      const claims = { sub: payload.sub, jti: payload.jti, exp: payload.exp, ...(family ? { family } : {}) };
      if (await isRevoked(claims)) throw new AuthenticationError('access token revoked');
      return claims;
    },
    isRevoked,
    async revokeAccess({ jti, exp }) {
      const ttl = Math.max(1, exp - Math.floor(Date.now() / 1000));
      await opts.redis.set(opts.keys.revokedJti(jti), '1', 'EX', ttl);
    },
    async revokeFamily(family) {
      // Access tokens live at most ttlSeconds, so the marker can expire with the last of them.
      await opts.redis.set(revokedFamilyKey(family), '1', 'EX', opts.ttlSeconds);
    },
  };
}
