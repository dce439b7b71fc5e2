import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { UserSchema } from './user.ts';

/**
 * A local account's TOTP second factor. The secret is sealed like integration secrets (it must be read
 * back to check a code); recovery codes are stored as SHA-256 hashes and each is spent once.
 * `enabledAt` is null while an enrolment waits for its first code.
 */
export const UserMfaSchema = defineEntity({
  name: 'UserMfa',
  tableName: 'user_mfa',
  properties: {
    user: () => p.oneToOne(UserSchema).primary().deleteRule('cascade'),
    secret: p.text().lazy(),
    enabledAt: p.datetime().nullable(),
    recoveryCodes: p.json<{ hash: string; usedAt: string | null }[]>(),
    /** The last TOTP time step accepted: a code is never accepted twice. */
    lastStep: p.bigint('number').nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type UserMfa = InferEntity<typeof UserMfaSchema>;
