import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { UserSchema } from './user.ts';

/** One row per issued refresh token; tokens of one login share a family so reuse can revoke them all. */
export const RefreshTokenSchema = defineEntity({
  name: 'RefreshToken',
  tableName: 'refresh_tokens',
  properties: {
    id: p.uuid().primary(),
    family: p.uuid().index(),
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
