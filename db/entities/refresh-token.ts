import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { UserSchema } from './user.ts';

/**
 * One login session: every refresh token it rotates through, and every access token signed for it,
 * belongs to it. Revoking it (logout, refresh-token reuse, disabling the user, a password change) is
 * permanent and is what every request checks: PostgreSQL is the record of revocation, not Redis.
 */
export const RefreshFamilySchema = defineEntity({
  name: 'RefreshFamily',
  tableName: 'refresh_families',
  properties: {
    id: p.uuid().primary(),
    user: () => p.manyToOne(UserSchema).index(),
    createdAt: p.datetime().onCreate(() => new Date()),
    revokedAt: p.datetime().nullable(),
    /** logout, refresh-reuse, user-disabled, password-change, account-inactive */
    revokedReason: p.string().nullable(),
    /** Where the session was signed in from, and when it was last signed in or refreshed (GET /me/sessions). */
    userAgent: p.string().length(512).nullable(),
    ip: p.string().nullable(),
    lastUsedAt: p.datetime().nullable(),
  },
});
export type RefreshFamily = InferEntity<typeof RefreshFamilySchema>;

/** One row per issued refresh token; tokens of one login share a family so reuse can revoke them all. */
export const RefreshTokenSchema = defineEntity({
  name: 'RefreshToken',
  tableName: 'refresh_tokens',
  properties: {
    id: p.uuid().primary(),
    family: () => p.manyToOne(RefreshFamilySchema).fieldName('family').mapToPk().index(),
    // Indexed: revoking or pruning all of a user's sessions (disable, password change, login) looks rows up by user.
    user: () => p.manyToOne(UserSchema).index(),
    tokenHash: p.string().unique(),
    expiresAt: p.datetime(),
    usedAt: p.datetime().nullable(),
    revokedAt: p.datetime().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type RefreshToken = InferEntity<typeof RefreshTokenSchema>;
