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

/**
 * Revokes every live refresh family of the user except `keep` (the caller's own session, when it
 * changes its password). Returns the families it ended so their access tokens can be revoked too,
 * once the transaction this runs in has committed.
 */
export async function revokeUserRefreshFamilies(em: EntityManager, userId: string, keep?: string): Promise<string[]> {
  const rows = await em.execute<{ family: string }[]>(
    `update refresh_tokens set revoked_at = ? where user_id = ? and revoked_at is null${keep ? ' and family <> ?' : ''} returning family`,
    [new Date(), userId, ...(keep ? [keep] : [])],
  );
  return [...new Set(rows.map((r) => r.family))];
}

/**
 * Deletes up to `limit` expired rows of one user or one family. Housekeeping run on login and refresh
 * instead of a timer: an expired token can never be traded again, so its row only takes space.
 * family is indexed; user_id is not (yet), so the per-user form scans the table until it is.
 */
export async function deleteExpiredRefreshTokens(em: EntityManager, of: { userId: string } | { family: string }, limit = 500): Promise<number> {
  const [column, value] = 'userId' in of ? ['user_id', of.userId] : ['family', of.family];
  const res = await em.execute<{ affectedRows: number }>(
    `delete from refresh_tokens where id in (select id from refresh_tokens where ${column} = ? and expires_at <= ? limit ?)`,
    [value, new Date(), limit],
    'run',
  );
  return res.affectedRows;
}
