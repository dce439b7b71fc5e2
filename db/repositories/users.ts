import { LockMode, type EntityManager } from '@mikro-orm/postgresql';
import { UserSchema, type User } from '../entities/index.ts';

export type UserView = { id: string; email: string; name: string; isAdmin: boolean; disabled: boolean; passwordChangeRequired: boolean; createdAt: string };

export function toUserView(user: User): UserView {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    isAdmin: user.isAdmin,
    disabled: user.disabled,
    passwordChangeRequired: user.passwordChangeRequired,
    createdAt: user.createdAt.toISOString(),
  };
}

/** Emails are compared case-insensitively by storing them lower-cased. */
export const normalizeEmail = (email: string): string => email.trim().toLowerCase();

/**
 * What a password check needs, as a plain row: found or not, the work is one query and no entity, so a
 * failed login for an email with an account costs what one for an unknown email does (the ORM's
 * hydration of a found user made the first measurably slower under load).
 */
export async function findLoginSecret(em: EntityManager, email: string): Promise<{ id: string; passwordHash: string; disabled: boolean } | null> {
  // Through the entity manager, so a database outage is the driver's exception (a 503), not a raw socket error.
  const rows = await em.execute<Array<{ id: string; password_hash: string; disabled: boolean }>>('select id, password_hash, disabled from users where email = ?', [normalizeEmail(email)]);
  const row = rows[0];
  return row ? { id: row.id, passwordHash: row.password_hash, disabled: row.disabled } : null;
}

export async function findUser(em: EntityManager, by: { id: string } | { email: string }): Promise<User | null> {
  return em.findOne(UserSchema, 'id' in by ? { id: by.id } : { email: normalizeEmail(by.email) });
}

/** Queues the insert; the caller flushes (together with its audit row). */
export function createUserRow(
  em: EntityManager,
  input: { email: string; name: string; passwordHash: string; isAdmin: boolean; passwordChangeRequired?: boolean },
): User {
  return em.create(UserSchema, {
    id: crypto.randomUUID(),
    email: normalizeEmail(input.email),
    name: input.name,
    passwordHash: input.passwordHash,
    isAdmin: input.isAdmin,
    passwordChangeRequired: input.passwordChangeRequired ?? false,
  });
}

/** Keyset page ordered by email; `after` is the last email of the previous page. */
export async function listUsers(em: EntityManager, opts: { limit: number; after?: string }): Promise<User[]> {
  return em.find(UserSchema, opts.after ? { email: { $gt: opts.after } } : {}, { orderBy: { email: 'asc' }, limit: opts.limit });
}

/** The user with their password hash, row-locked until the transaction `em` runs in ends. */
export async function lockUserWithPassword(em: EntityManager, id: string): Promise<(User & { passwordHash: string }) | null> {
  const user = await em.findOne(UserSchema, { id }, { populate: ['passwordHash'], lockMode: LockMode.PESSIMISTIC_WRITE });
  return user as (User & { passwordHash: string }) | null;
}

/** The user row-locked for an update in the transaction `em` runs in. */
export async function lockUser(em: EntityManager, id: string): Promise<User | null> {
  return em.findOne(UserSchema, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE });
}
