import type { EntityManager } from '@mikro-orm/postgresql';
import { RefreshFamilySchema, RefreshTokenSchema, UserSchema } from '../entities/index.ts';
import type { RefreshToken } from '../entities/refresh-token.ts';

/** Queues a new session (refresh family) row. The caller flushes, with its first token. */
export function createRefreshFamilyRow(em: EntityManager, input: { id: string; userId: string; client?: SessionClient }): void {
  em.create(RefreshFamilySchema, {
    id: input.id,
    user: em.getReference(UserSchema, input.userId),
    userAgent: input.client?.userAgent?.slice(0, 512) ?? null,
    ip: input.client?.ip ?? null,
    lastUsedAt: new Date(),
  });
}

/** Where a session is used from, as listed to its user (never trusted for anything). */
export type SessionClient = { ip?: string | null; userAgent?: string | null };

/** Records a refresh of the family: its last use and the address it came from. */
export async function touchRefreshFamily(em: EntityManager, family: string, ip: string | null): Promise<void> {
  await em.nativeUpdate(RefreshFamilySchema, { id: family }, { lastUsedAt: new Date(), ...(ip ? { ip } : {}) });
}

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
 * Row-locks the family until the transaction `em` runs in ends: every rotation and revocation of one
 * session takes this lock first, so they happen one after the other. Null when there is no such family.
 */
export async function lockRefreshFamily(em: EntityManager, family: string): Promise<{ revokedAt: Date | null } | null> {
  const rows = await em.execute<{ revoked_at: Date | null }[]>('select revoked_at from refresh_families where id = ? for update', [family]);
  return rows[0] ? { revokedAt: rows[0].revoked_at } : null;
}

/** Marks the token used (the caller holds its family's lock, so nobody else can at the same time). */
export async function markRefreshTokenUsed(em: EntityManager, id: string): Promise<void> {
  await em.nativeUpdate(RefreshTokenSchema, { id }, { usedAt: new Date() });
}

/** Revokes the family and every one of its tokens, for good. Returns whether it was live until now. */
export async function revokeRefreshFamily(em: EntityManager, family: string, reason: string): Promise<boolean> {
  const now = new Date();
  const changed = await em.nativeUpdate(RefreshFamilySchema, { id: family, revokedAt: null }, { revokedAt: now, revokedReason: reason });
  await em.nativeUpdate(RefreshTokenSchema, { family, revokedAt: null }, { revokedAt: now });
  return changed > 0;
}

/**
 * Revokes every live family of the user except `keep` (the caller's own session, when it changes its
 * password) and their tokens. Returns the families it ended, so open sockets on them can be told once
 * the transaction this runs in has committed.
 */
export async function revokeUserRefreshFamilies(em: EntityManager, userId: string, reason: string, keep?: string): Promise<string[]> {
  const now = new Date();
  const rows = await em.execute<{ id: string }[]>(
    `update refresh_families set revoked_at = ?, revoked_reason = ? where user_id = ? and revoked_at is null${keep ? ' and id <> ?' : ''} returning id`,
    [now, reason, userId, ...(keep ? [keep] : [])],
  );
  const families = rows.map((r) => r.id);
  if (families.length) await em.nativeUpdate(RefreshTokenSchema, { family: { $in: families }, revokedAt: null }, { revokedAt: now });
  return families;
}

/** Whether the family exists and is not revoked: the check every access token passes on every use. */
export async function isRefreshFamilyLive(em: EntityManager, family: string): Promise<boolean> {
  const rows = await em.execute<{ n: number }[]>('select 1 as n from refresh_families where id = ? and revoked_at is null', [family]);
  return rows.length > 0;
}

/** Those of `families` that are revoked or gone. */
export async function endedRefreshFamilies(em: EntityManager, families: string[]): Promise<string[]> {
  if (families.length === 0) return [];
  const live = await em.find(RefreshFamilySchema, { id: { $in: families }, revokedAt: null }, { fields: ['id'] });
  const liveIds = new Set(live.map((f) => f.id));
  return families.filter((f) => !liveIds.has(f));
}

/**
 * Deletes up to `limit` expired rows of one user or one family, then (per user) the families left with
 * no token. Housekeeping run on login and refresh instead of a timer: an expired token can never be
 * traded again, and an access token never outlives the refresh token it was issued with.
 */
export async function deleteExpiredRefreshTokens(em: EntityManager, of: { userId: string } | { family: string }, limit = 500): Promise<number> {
  const [column, value] = 'userId' in of ? ['user_id', of.userId] : ['family', of.family];
  const res = await em.execute<{ affectedRows: number }>(
    `delete from refresh_tokens where id in (select id from refresh_tokens where ${column} = ? and expires_at <= ? limit ?)`,
    [value, new Date(), limit],
    'run',
  );
  if ('userId' in of) {
    await em.execute(
      'delete from refresh_families f where f.user_id = ? and not exists (select 1 from refresh_tokens t where t.family = f.id)',
      [of.userId],
      'run',
    );
  }
  return res.affectedRows;
}

export type SessionRow = { id: string; userAgent: string | null; ip: string | null; createdAt: Date; lastUsedAt: Date };

/** The user's sessions that still hold: not revoked, with a refresh token not yet expired. Newest use first. */
export async function liveSessionsOf(em: EntityManager, userId: string): Promise<SessionRow[]> {
  const rows = await em.execute<{ id: string; user_agent: string | null; ip: string | null; created_at: Date; last_used_at: Date | null }[]>(
    `select f.id, f.user_agent, f.ip, f.created_at, f.last_used_at from refresh_families f
      where f.user_id = ? and f.revoked_at is null
        and exists (select 1 from refresh_tokens t where t.family = f.id and t.revoked_at is null and t.expires_at > now())
      order by coalesce(f.last_used_at, f.created_at) desc limit 200`,
    [userId],
  );
  return rows.map((r) => ({ id: r.id, userAgent: r.user_agent, ip: r.ip, createdAt: new Date(r.created_at), lastUsedAt: new Date(r.last_used_at ?? r.created_at) }));
}

/** Whether the family is the user's and still live (so a user cannot revoke, or learn of, another's session). */
export async function isLiveSessionOf(em: EntityManager, userId: string, family: string): Promise<boolean> {
  const rows = await em.execute<{ n: number }[]>('select 1 as n from refresh_families where id = ? and user_id = ? and revoked_at is null', [family, userId]);
  return rows.length > 0;
}

/** When the session's sign-in happened, and whether it went through an identity provider (it has an sso_sessions row). */
export async function sessionSignIn(em: EntityManager, family: string): Promise<{ signedInAt: Date; viaProvider: boolean } | null> {
  const rows = await em.execute<Array<{ created_at: Date; via_provider: boolean }>>(
    'select f.created_at, exists (select 1 from sso_sessions s where s.family = f.id) as via_provider from refresh_families f where f.id = ?',
    [family],
  );
  const row = rows[0];
  return row ? { signedInAt: new Date(row.created_at), viaProvider: row.via_provider } : null;
}

/**
 * Holds the session (FOR SHARE) until the transaction `em` runs in ends; false when it has ended. A
 * write made in the session's name under it cannot slip past a revocation that is committing: the
 * revocation's UPDATE waits for it, or it waits for the revocation and sees it.
 */
export async function holdLiveSession(em: EntityManager, family: string): Promise<boolean> {
  const rows = await em.execute<{ id: string }[]>('select id from refresh_families where id = ? and revoked_at is null for share', [family]);
  return rows.length > 0;
}
