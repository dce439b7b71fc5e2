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
};

/** Short-lived HS256 access tokens (algorithm pinned on verify) with a Redis revocation list. */
export function createTokenService(opts: { secret: string; ttlSeconds: number; redis: Redis; keys: RedisKeys }): TokenService {
  const key = new TextEncoder().encode(opts.secret);
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
      if (await opts.redis.exists(opts.keys.revokedJti(payload.jti))) throw new AuthenticationError('access token revoked');
      const family = typeof payload.fam === 'string' ? payload.fam : undefined;
      return { sub: payload.sub, jti: payload.jti, exp: payload.exp, ...(family ? { family } : {}) };
    },
    async revokeAccess({ jti, exp }) {
      const ttl = Math.max(1, exp - Math.floor(Date.now() / 1000));
      await opts.redis.set(opts.keys.revokedJti(jti), '1', 'EX', ttl);
    },
  };
}
