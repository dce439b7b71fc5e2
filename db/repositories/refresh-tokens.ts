import type { EntityManager } from '@mikro-orm/postgresql';
import { RefreshTokenSchema, UserSchema } from '../entities/index.ts';
import type { RefreshToken } from '../entities/refresh-token.ts';

/** Queues a new refresh-token row; only the token's hash is stored. The caller flushes. */
export function createRefreshTokenRow(em: EntityManager, input: { userId: string; family: string; tokenHash: string; expiresAt: Date }): RefreshToken {
  return em.create(RefreshTokenSchema, {
    id: crypto.randomUUID(),
    family: input.family,
    user: em.getReference(UserSchema, input.userId),
    tokenHash: input.tokenHash,
    expiresAt: input.expiresAt,
  });
}

export async function findRefreshToken(em: EntityManager, tokenHash: string): Promise<RefreshToken | null> {
  return em.findOne(RefreshTokenSchema, { tokenHash });
}

/**
 * Marks the token used if, and only if, nobody has used or revoked it yet. One conditional UPDATE, so
 * two concurrent refreshes with the same token cannot both win: the loser sees `false`.
 */
export async function claimRefreshToken(em: EntityManager, id: string): Promise<boolean> {
  const changed = await em.nativeUpdate(RefreshTokenSchema, { id, usedAt: null, revokedAt: null }, { usedAt: new Date() });
  return changed === 1;
}

/** Revokes every not-yet-revoked token of the family; returns how many rows changed. */
export async function revokeRefreshFamily(em: EntityManager, family: string): Promise<number> {
  return em.nativeUpdate(RefreshTokenSchema, { family, revokedAt: null }, { revokedAt: new Date() });
}
