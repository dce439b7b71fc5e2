import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { AuthenticationError } from './errors.ts';

const ALG = 'HS256';
const ISSUER = 'opssight';
const AUDIENCE = 'opssight-api';

/** `family`: the login session (refresh family) the token was issued for; revoking it revokes the token. */
export type AccessClaims = { sub: string; jti: string; exp: number; family: string };

export type TokenService = {
  signAccess: (userId: string, family: string) => Promise<{ token: string; jti: string; expiresAt: Date }>;
  /** Signature, algorithm, issuer, audience and expiry; whether its session still holds is the session service's call. */
  verifyAccess: (token: string) => Promise<AccessClaims>;
};

/** Verified tokens remembered per process: a dashboard sends the same token for its whole lifetime. */
const VERIFIED_MAX = 10_000;

/** Short-lived HS256 access tokens (algorithm pinned on verify), each bound to a session. */
export function createTokenService(opts: { secret: string; ttlSeconds: number }): TokenService {
  const key = new TextEncoder().encode(opts.secret);
  // A token is immutable: once its signature, issuer and audience checked out, only its expiry can
  // change the answer, and that is checked on every use. Whether its session holds is not decided here.
  const verified = new Map<string, AccessClaims>();
  return {
    async signAccess(userId, family) {
      const jti = crypto.randomUUID();
      const expiresAt = new Date(Date.now() + opts.ttlSeconds * 1000);
      const token = await new SignJWT({ fam: family })
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
      const known = verified.get(token);
      if (known) {
        if (known.exp * 1000 > Date.now()) return known;
        verified.delete(token);
        throw new AuthenticationError('access token expired');
      }
      let payload;
      try {
        ({ payload } = await jwtVerify(token, key, { algorithms: [ALG], issuer: ISSUER, audience: AUDIENCE }));
      } catch (err) {
        const expired = err instanceof joseErrors.JWTExpired;
        throw new AuthenticationError(expired ? 'access token expired' : 'invalid access token');
      }
      // A token without a session could not be revoked: none is ever issued, none is accepted.
      if (!payload.sub || !payload.jti || !payload.exp || typeof payload.fam !== 'string') throw new AuthenticationError('invalid access token');
      const claims = { sub: payload.sub, jti: payload.jti, exp: payload.exp, family: payload.fam };
      // Oldest first out: a Map iterates in insertion order.
      if (verified.size >= VERIFIED_MAX) verified.delete(verified.keys().next().value!);
      verified.set(token, claims);
      return claims;
    },
  };
}
