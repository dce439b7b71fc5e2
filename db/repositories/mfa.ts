import type { EntityManager } from '@mikro-orm/postgresql';
import { UserMfaSchema, UserSchema } from '../entities/index.ts';
import type { UserMfa } from '../entities/user-mfa.ts';

/** The user's MFA row, locked until the transaction `em` runs in ends (a code is spent once, even by two requests at once). */
export async function lockMfa(em: EntityManager, userId: string): Promise<UserMfa | null> {
  const rows = await em.execute<{ user_id: string }[]>('select user_id from user_mfa where user_id = ? for update', [userId]);
  if (rows.length === 0) return null;
  return em.findOne(UserMfaSchema, { user: userId }, { populate: ['secret'], refresh: true });
}

export async function findMfa(em: EntityManager, userId: string): Promise<UserMfa | null> {
  return em.findOne(UserMfaSchema, { user: userId }, { populate: ['secret'] });
}

/** Queues a pending enrolment (replacing a pending one); the caller flushes. */
export async function putPendingMfa(em: EntityManager, userId: string, sealedSecret: string): Promise<void> {
  await em.nativeDelete(UserMfaSchema, { user: userId, enabledAt: null });
  em.create(UserMfaSchema, { user: em.getReference(UserSchema, userId), secret: sealedSecret, enabledAt: null, recoveryCodes: [], lastStep: null });
}

/** How many rows went: 0 when the user had no factor, enrolled or pending. */
export async function deleteMfa(em: EntityManager, userId: string): Promise<number> {
  return em.nativeDelete(UserMfaSchema, { user: userId });
}
