import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { RefreshFamilySchema } from './refresh-token.ts';
import { UserSchema } from './user.ts';

/**
 * An identity provider users may sign in through (OIDC, GitHub, LDAP, SAML). `settings` are plain and
 * validated per type (core/sso/settings.ts); the secrets (client secret, bind password, IdP key) are
 * one sealed envelope like integrations', never returned by the API. `mappings` turn the groups or
 * claims the provider asserts into team memberships.
 */
export const AuthProviderSchema = defineEntity({
  name: 'AuthProvider',
  tableName: 'auth_providers',
  properties: {
    id: p.uuid().primary(),
    slug: p.string().unique(),
    name: p.string(),
    type: p.string(),
    enabled: p.boolean().default(true),
    settings: p.json<Record<string, unknown>>(),
    secret: p.text().lazy().nullable(),
    keyId: p.string().nullable(),
    secretFields: p.json<string[]>(),
    mappings: p.json<{ group: string; team: string; role: string }[]>(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  },
});
export type AuthProvider = InferEntity<typeof AuthProviderSchema>;

/** A user's account at a provider: `subject` is the provider's stable id for them (OIDC sub, GitHub id, LDAP DN, SAML NameID). */
export const UserIdentitySchema = defineEntity({
  name: 'UserIdentity',
  tableName: 'user_identities',
  uniques: [{ properties: ['provider', 'subject'], name: 'user_identities_provider_id_subject_unique' }],
  properties: {
    id: p.uuid().primary(),
    provider: () => p.manyToOne(AuthProviderSchema).deleteRule('cascade'),
    subject: p.string(),
    user: () => p.manyToOne(UserSchema).deleteRule('cascade').index(),
    email: p.string(),
    createdAt: p.datetime().onCreate(() => new Date()),
    lastLoginAt: p.datetime(),
  },
});
export type UserIdentity = InferEntity<typeof UserIdentitySchema>;

/**
 * What a session started through a provider needs to be checked again at each refresh: which
 * identity, the provider's own refresh or access token when it gave one (sealed), and until when it may
 * last at most.
 */
export const SsoSessionSchema = defineEntity({
  name: 'SsoSession',
  tableName: 'sso_sessions',
  properties: {
    family: () => p.oneToOne(RefreshFamilySchema).primary().fieldName('family').deleteRule('cascade').owner(),
    identity: () => p.manyToOne(UserIdentitySchema).deleteRule('cascade').index(),
    upstream: p.text().nullable(),
    keyId: p.string().nullable(),
    expiresAt: p.datetime(),
    checkedAt: p.datetime(),
  },
});
export type SsoSession = InferEntity<typeof SsoSessionSchema>;
