import type { EntityManager } from '@mikro-orm/postgresql';
import { ApiTokenSchema, TeamSchema, UserSchema } from '../entities/index.ts';
import { endedRefreshFamilies } from './refresh-tokens.ts';

export type ApiTokenView = {
  id: string;
  name: string;
  prefix: string;
  team: { id: string; slug: string };
  permissions: string[];
  expiresAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
  createdAt: string;
};

type Row = { id: string; name: string; prefix: string; team_id: string; slug: string; permissions: string[]; expires_at: Date; last_used_at: Date | null; revoked_at: Date | null; created_at: Date };
const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);
const view = (r: Row): ApiTokenView => ({
  id: r.id,
  name: r.name,
  prefix: r.prefix,
  team: { id: r.team_id, slug: r.slug },
  permissions: r.permissions,
  expiresAt: iso(r.expires_at)!,
  lastUsedAt: iso(r.last_used_at),
  revokedAt: iso(r.revoked_at),
  createdAt: iso(r.created_at)!,
});

/** Queues a token row; the caller flushes (with its audit row). */
export function createApiTokenRow(
  em: EntityManager,
  input: { userId: string; teamId: string; name: string; permissions: string[]; tokenHash: string; prefix: string; expiresAt: Date },
): { id: string } {
  return em.create(ApiTokenSchema, {
    user: em.getReference(UserSchema, input.userId),
    team: em.getReference(TeamSchema, input.teamId),
    name: input.name,
    permissions: input.permissions,
    tokenHash: input.tokenHash,
    prefix: input.prefix,
    expiresAt: input.expiresAt,
  });
}

/** The user's tokens, newest first (revoked and expired ones too, so they can be told apart). */
export async function apiTokensOf(em: EntityManager, userId: string): Promise<ApiTokenView[]> {
  const rows = await em.execute<Row[]>(
    `select k.id, k.name, k.prefix, k.team_id, t.slug, k.permissions, k.expires_at, k.last_used_at, k.revoked_at, k.created_at
       from api_tokens k join teams t on t.id = k.team_id where k.user_id = ? order by k.created_at desc limit 500`,
    [userId],
  );
  return rows.map(view);
}

/** Revokes the user's token; false when there is no such live token of theirs. */
export async function revokeApiTokenRow(em: EntityManager, userId: string, id: string): Promise<boolean> {
  return (await em.nativeUpdate(ApiTokenSchema, { id, user: userId, revokedAt: null }, { revokedAt: new Date() })) > 0;
}

/** Revokes every live token of the user (disable, admin action); returns their ids for announcement. */
export async function revokeUserApiTokens(em: EntityManager, userId: string): Promise<string[]> {
  const rows = await em.execute<{ id: string }[]>('update api_tokens set revoked_at = now() where user_id = ? and revoked_at is null returning id', [userId]);
  return rows.map((r) => r.id);
}

/** One UPDATE for a batch of last uses; a later time never goes back to an earlier one. */
export async function recordApiTokensUsed(em: EntityManager, uses: [string, Date][]): Promise<void> {
  if (uses.length === 0) return;
  await em.execute(
    `update api_tokens k set last_used_at = v.at
       from jsonb_to_recordset(?::jsonb) as v(id uuid, at timestamptz)
      where k.id = v.id and (k.last_used_at is null or k.last_used_at < v.at)`,
    // One JSON parameter: the driver would spread a JavaScript array into a list of placeholders.
    [JSON.stringify(uses.map(([id, at]) => ({ id, at: at.toISOString() })))],
    'run',
  );
}

/**
 * Those of `sessions` (refresh families, or API token ids: a socket opened with a token has the token's
 * id as its session) that ended: revoked, expired, gone, or its creator disabled.
 */
export async function endedSessions(em: EntityManager, sessions: string[]): Promise<string[]> {
  const ended = await endedRefreshFamilies(em, sessions);
  if (ended.length === 0) return ended;
  const live = await em.execute<{ id: string }[]>(
    `select k.id from api_tokens k join users u on u.id = k.user_id
      where k.id in (select (jsonb_array_elements_text(?::jsonb))::uuid) and k.revoked_at is null and k.expires_at > now() and not u.disabled`,
    [JSON.stringify(ended)],
  );
  const liveIds = new Set(live.map((r) => r.id));
  return ended.filter((s) => !liveIds.has(s));
}
