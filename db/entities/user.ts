import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

export const UserSchema = defineEntity({
  name: 'User',
  tableName: 'users',
  properties: {
    id: p.uuid().primary().onCreate(() => crypto.randomUUID()),
    email: p.string().unique(),
    name: p.string(),
    passwordHash: p.string().hidden().lazy(),
    isAdmin: p.boolean().default(false),
    disabled: p.boolean().default(false),
    /** Set when an admin chose the password: it signs in once, to set the user's own. */
    passwordChangeRequired: p.boolean().default(false),
    /** Paging contact (contracts/alerts/contact.ts): SMS steps text this number, push steps these devices. */
    phone: p.string().length(16).nullable(),
    pushTokens: p.json<string[]>().defaultRaw(`'[]'`).onCreate(() => []),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type User = InferEntity<typeof UserSchema>;
