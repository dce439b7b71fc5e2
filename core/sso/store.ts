import { UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { ROLES } from '../../contracts/permissions.ts';
import { AuthProviderSchema, type AuthProvider } from '../../db/entities/index.ts';
import { recordAudit } from '../../db/repositories/audit.ts';
import { findStandingLastAdminKeeps } from '../../db/repositories/teams.ts';
import { ConflictError, InputError, NotFoundError } from '../errors.ts';
import type { Keyring } from '../secrets/keyring.ts';
import { LAST_ADMIN_KEPT } from './provision.ts';
import { SECRET_SCHEMAS, SETTINGS_SCHEMAS, mappingRuleSchema, PROVIDER_TYPES, unanchoredGroupRules, type MappingRule, type ProviderType } from './settings.ts';

const slugSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'lower-case letters, digits and "-", 2 to 63 characters');

export const createProviderRequestSchema = z.object({
  slug: slugSchema,
  name: z.string().min(1).max(128),
  type: z.enum(PROVIDER_TYPES),
  enabled: z.boolean().default(true),
  settings: z.record(z.string(), z.unknown()).describe('per type: see docs/identity.md'),
  secrets: z.record(z.string(), z.string()).optional().describe('clientSecret (oidc, github), bindPassword (ldap), idpCert (saml); write-only'),
  mappings: z.array(mappingRuleSchema).max(200).default([]),
});
export const updateProviderRequestSchema = z.object({
  name: z.string().min(1).max(128).optional(),
  enabled: z.boolean().optional(),
  settings: z.record(z.string(), z.unknown()).optional(),
  secrets: z.record(z.string(), z.string()).optional(),
  mappings: z.array(mappingRuleSchema).max(200).optional(),
});
export type CreateProviderRequest = z.infer<typeof createProviderRequestSchema>;
export type UpdateProviderRequest = z.infer<typeof updateProviderRequestSchema>;

export const providerViewSchema = z.object({
  id: z.uuid(),
  slug: z.string(),
  name: z.string(),
  type: z.enum(PROVIDER_TYPES),
  enabled: z.boolean(),
  settings: z.record(z.string(), z.unknown()),
  secretFields: z.array(z.string()).describe('which secrets are stored (never their values)'),
  mappings: z.array(mappingRuleSchema),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type ProviderView = z.infer<typeof providerViewSchema>;

export const mappingWarningSchema = z.object({
  team: z.string(),
  userId: z.uuid(),
  email: z.string(),
  mappedRole: z.enum(ROLES).nullable().describe('what the mapping wanted (null: remove from the team)'),
  at: z.string().describe('when a sign-in or refresh last met the conflict (audited at most daily)'),
  message: z.string(),
});
/** One provider, with what its admins should act on. */
export const providerDetailSchema = providerViewSchema.extend({
  warnings: z.array(mappingWarningSchema).describe('mappings held back because they would leave a team without an admin, while that still holds'),
});

export const toProviderView = (p: AuthProvider): ProviderView => ({
  id: p.id,
  slug: p.slug,
  name: p.name,
  type: p.type as ProviderType,
  enabled: p.enabled,
  settings: p.settings,
  secretFields: p.secretFields,
  mappings: p.mappings as MappingRule[],
  createdAt: p.createdAt.toISOString(),
  updatedAt: p.updatedAt.toISOString(),
});

/** Validates `raw` with the type's schema; field errors name `prefix.<field>`. */
function parseFor<T extends z.ZodType>(schema: T, raw: unknown, prefix: string): z.infer<T> {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  throw new InputError(`invalid ${prefix}`, parsed.error.issues.map((i) => ({ field: [prefix, ...i.path].join('.'), message: i.message })));
}

function assertGroupRulesAnchored(type: ProviderType, settings: Record<string, unknown>, mappings: readonly MappingRule[]): void {
  const problems = unanchoredGroupRules(type, settings, mappings);
  if (problems.length) throw new InputError('a mapping names a group by name, but the provider has no groupBase to look it up in', problems);
}

const secretContext = (id: string) => `auth-provider:${id}`;

type Caller = { actor: { id: string; email: string }; ip: string };

export async function createProvider(keyring: Keyring, em: EntityManager, caller: Caller, body: CreateProviderRequest): Promise<ProviderView> {
  const settings = parseFor(SETTINGS_SCHEMAS[body.type], body.settings, 'settings');
  const secrets = parseFor(SECRET_SCHEMAS[body.type], body.secrets ?? {}, 'secrets');
  assertGroupRulesAnchored(body.type, settings, body.mappings);
  const id = crypto.randomUUID();
  const sealed = await keyring.seal(JSON.stringify(secrets), secretContext(id));
  try {
    return await em.transactional(async (tx) => {
      const row = tx.create(AuthProviderSchema, {
        id, slug: body.slug, name: body.name, type: body.type, enabled: body.enabled, settings, secret: sealed.envelope, keyId: sealed.keyId,
        secretFields: Object.keys(secrets), mappings: body.mappings,
      });
      recordAudit(tx, { actor: caller.actor, action: 'auth_provider.create', resourceType: 'auth_provider', resourceId: id, ip: caller.ip, data: { slug: body.slug, type: body.type } });
      await tx.flush();
      return toProviderView(row);
    });
  } catch (err) {
    if (err instanceof UniqueConstraintViolationException) throw new ConflictError(`a provider with slug ${body.slug} exists`, { errors: [{ field: 'slug', message: 'taken' }] });
    throw err;
  }
}

export async function updateProvider(keyring: Keyring, em: EntityManager, caller: Caller, id: string, body: UpdateProviderRequest): Promise<ProviderView> {
  return em.transactional(async (tx) => {
    const row = await tx.findOne(AuthProviderSchema, { id }, { populate: ['secret'] });
    if (!row) throw new NotFoundError('no such auth provider');
    const type = row.type as ProviderType;
    if (body.settings) row.settings = parseFor(SETTINGS_SCHEMAS[type], body.settings, 'settings');
    if (body.secrets) {
      // Secrets not given are kept: an admin changes one without knowing the others.
      const current = row.secret ? (JSON.parse(await keyring.open(row.secret, secretContext(id))) as Record<string, string>) : {};
      const secrets = parseFor(SECRET_SCHEMAS[type], { ...current, ...body.secrets }, 'secrets');
      const sealed = await keyring.seal(JSON.stringify(secrets), secretContext(id));
      row.secret = sealed.envelope;
      row.keyId = sealed.keyId;
      row.secretFields = Object.keys(secrets);
    }
    if (body.name !== undefined) row.name = body.name;
    if (body.enabled !== undefined) row.enabled = body.enabled;
    if (body.mappings) row.mappings = body.mappings;
    assertGroupRulesAnchored(type, row.settings, row.mappings as MappingRule[]);
    const changed = Object.keys(body).filter((k) => k !== 'secrets');
    recordAudit(tx, { actor: caller.actor, action: 'auth_provider.update', resourceType: 'auth_provider', resourceId: id, ip: caller.ip, data: { changed, secretsReplaced: body.secrets ? Object.keys(body.secrets) : [] } });
    await tx.flush();
    return toProviderView(row);
  });
}

export async function deleteProvider(em: EntityManager, caller: Caller, id: string): Promise<void> {
  await em.transactional(async (tx) => {
    const row = await tx.findOne(AuthProviderSchema, { id });
    if (!row) throw new NotFoundError('no such auth provider');
    recordAudit(tx, { actor: caller.actor, action: 'auth_provider.delete', resourceType: 'auth_provider', resourceId: id, ip: caller.ip, data: { slug: row.slug } });
    tx.remove(row);
    await tx.flush();
  });
}

/** A provider ready to sign users in with: settings parsed, secrets opened. Disabled or unknown ones are not found. */
export type LoadedProvider = { id: string; slug: string; name: string; type: ProviderType; settings: Record<string, unknown>; secrets: Record<string, string>; mappings: MappingRule[]; updatedAt: Date };

export async function loadProvider(keyring: Keyring, em: EntityManager, by: { slug: string } | { id: string }): Promise<LoadedProvider> {
  const row = await em.findOne(AuthProviderSchema, { ...by, enabled: true }, { populate: ['secret'] });
  if (!row) throw new NotFoundError('no such sign-in provider');
  const type = row.type as ProviderType;
  const secrets = row.secret ? (JSON.parse(await keyring.open(row.secret, secretContext(row.id))) as Record<string, string>) : {};
  // Parsed again so defaults added since the row was written apply.
  const settings = SETTINGS_SCHEMAS[type].parse(row.settings) as Record<string, unknown>;
  return { id: row.id, slug: row.slug, name: row.name, type, settings, secrets, mappings: row.mappings as MappingRule[], updatedAt: row.updatedAt };
}

export async function listProviders(em: EntityManager, opts: { enabledOnly: boolean }): Promise<AuthProvider[]> {
  return em.find(AuthProviderSchema, opts.enabledOnly ? { enabled: true } : {}, { orderBy: { name: 'asc' } });
}

/** How far back a held-back mapping is still reported (it is re-audited daily while it recurs). */
const WARNING_WINDOW_MS = 30 * 24 * 3600_000;

/**
 * The provider's mappings that were held back to keep a team's last admin (see applyMappings), while
 * that person is still the team's only admin: the platform admin should make someone else admin, or
 * change the mapping.
 */
export async function providerWarnings(em: EntityManager, provider: { slug: string }): Promise<z.infer<typeof mappingWarningSchema>[]> {
  const rows = await findStandingLastAdminKeeps(em, { action: LAST_ADMIN_KEPT, provider: provider.slug, since: new Date(Date.now() - WARNING_WINDOW_MS) });
  return rows.map((r) => ({
    team: r.teamSlug,
    userId: r.userId,
    email: r.email,
    mappedRole: r.mappedRole,
    at: r.at.toISOString(),
    message: `${r.email} is the only admin of team ${r.teamSlug}; the mapping would ${r.mappedRole ? `make them ${r.mappedRole}` : 'remove them'}, so they were kept as admin. Make another member admin (or change the mapping) and the next sign-in applies it.`,
  }));
}
