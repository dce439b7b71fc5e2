import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { TeamSchema } from './team.ts';
import { UserSchema } from './user.ts';

/**
 * A token for automation, acting as its creator within one team and at most `permissions` there.
 * Only the SHA-256 of the token is kept (core/api-tokens.ts says why that is enough). `lastUsedAt` is
 * written in batches, not per request, so it may lag by the flush interval.
 */
export const ApiTokenSchema = defineEntity({
  name: 'ApiToken',
  tableName: 'api_tokens',
  properties: {
    id: p.uuid().primary().onCreate(() => crypto.randomUUID()),
    user: () => p.manyToOne(UserSchema).index().deleteRule('cascade'),
    team: () => p.manyToOne(TeamSchema).deleteRule('cascade'),
    name: p.string(),
    permissions: p.json<string[]>(),
    tokenHash: p.string().unique(),
    /** The first characters of the token, so a person can tell their tokens apart; not a secret. */
    prefix: p.string(),
    expiresAt: p.datetime(),
    lastUsedAt: p.datetime().nullable(),
    revokedAt: p.datetime().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type ApiToken = InferEntity<typeof ApiTokenSchema>;
