import { z } from 'zod';
import { ROLES } from '../../contracts/permissions.ts';
import { teamSlugSchema } from '../../contracts/teams.ts';

export const PROVIDER_TYPES = ['oidc', 'github', 'ldap', 'saml'] as const;
export type ProviderType = (typeof PROVIDER_TYPES)[number];

const url = z.url({ protocol: /^https?$/ }).max(2048);
const name = z.string().min(1).max(256);

/** A group (or claim value) the provider asserts → a role in a team; the highest matching role wins. */
export const mappingRuleSchema = z.object({
  group: z.string().min(1).max(512).describe('a group name, DN, `org` or `org/team` (GitHub), or a value of the groups claim'),
  team: teamSlugSchema,
  role: z.enum(ROLES),
});
export type MappingRule = z.infer<typeof mappingRuleSchema>;

/** What every type has: who may sign in, how long a session may last before the provider is asked again. */
const common = {
  /** Only users matching at least one mapping rule may sign in; one who stops matching loses access at the next refresh. */
  requireGroup: z.boolean().default(false),
  /** Sessions end after this many hours at the latest, whatever the provider says. */
  maxSessionHours: z.number().int().min(1).max(24 * 30).default(12),
  /**
   * The provider's emails are verified (a company directory): a first sign-in may create an account
   * with that email. Without it an OIDC email counts only when `email_verified` is true, GitHub's only
   * when it is the verified primary one. It never links to an existing account by itself: see below.
   */
  trustEmails: z.boolean().default(false),
  /**
   * Off, a first sign-in whose email an existing account already holds is refused: whoever can set
   * their email at the provider (a directory `mail` a user may edit, any IdP the admin configured)
   * would otherwise sign in as that account, a platform admin's included.
   */
  linkExistingAccounts: z
    .boolean()
    .default(false)
    .describe(
      'link a first sign-in to the existing account with the same (trusted) email. Whoever can set that email at the provider then signs in as the account, platform admins included: turn it on only when users cannot change their emails at the provider',
    ),
};

export const OIDC_PRESETS = {
  generic: null,
  google: 'https://accounts.google.com',
  gitlab: 'https://gitlab.com',
  // `{tenant}` is the directory (tenant) id; Entra's v2.0 issuer.
  azure: 'https://login.microsoftonline.com/{tenant}/v2.0',
} as const;

export const oidcSettingsSchema = z.object({
  ...common,
  preset: z.enum(Object.keys(OIDC_PRESETS) as [keyof typeof OIDC_PRESETS]).default('generic'),
  issuer: url.optional().describe('the issuer URL (discovery at /.well-known/openid-configuration); a preset fills it'),
  tenant: z.string().regex(/^[A-Za-z0-9.-]{1,128}$/).optional().describe('Azure AD / Entra tenant id (preset azure)'),
  clientId: name,
  scopes: z.array(z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]{1,128}$/)).max(20).default(['openid', 'email', 'profile']),
  groupsClaim: z.string().min(1).max(128).default('groups'),
  /** How far the ID token's iat/exp may be from our clock; raise it only while the provider's clock is being fixed. */
  clockToleranceSeconds: z.number().int().min(0).max(600).default(30),
});

export const githubSettingsSchema = z.object({
  ...common,
  clientId: name,
  /** github.com or a GitHub Enterprise Server: where users sign in, and its REST API. */
  webUrl: url.default('https://github.com'),
  apiUrl: url.default('https://api.github.com'),
});

export const ldapSettingsSchema = z.object({
  ...common,
  url: z.string().regex(/^ldaps?:\/\/[^\s]+$/, 'an ldap:// or ldaps:// URL').max(2048),
  startTls: z.boolean().default(false),
  bindDn: z.string().min(1).max(1024).describe('the service account that searches users and groups'),
  userBase: z.string().min(1).max(1024),
  /** `{username}` is replaced by the escaped login name. */
  userFilter: z.string().min(1).max(1024).default('(|(uid={username})(mail={username}))'),
  /** Groups count only under it (memberOf included): elsewhere anyone able to create a group could name it like a mapped one. */
  groupBase: z.string().min(1).max(1024).optional(),
  /** `{dn}` is the user's (or, for nesting, a group's) DN. */
  groupFilter: z.string().min(1).max(1024).default('(|(member={dn})(uniqueMember={dn}))'),
  /** Active Directory resolves nesting itself (LDAP_MATCHING_RULE_IN_CHAIN); elsewhere groups are followed up to this depth. */
  activeDirectory: z.boolean().default(false),
  nestingDepth: z.number().int().min(0).max(10).default(5),
  emailAttribute: z.string().min(1).max(64).default('mail'),
  nameAttribute: z.string().min(1).max(64).default('cn'),
  // LDAP and SAML carry no "verified" flag: false would refuse every new user. Safe since an email
  // alone no longer links to an existing account (linkExistingAccounts); at worst it names a new one.
  trustEmails: z.boolean().default(true),
});

export const samlSettingsSchema = z.object({
  ...common,
  entryPoint: url.describe('the IdP single sign-on URL (HTTP-Redirect binding)'),
  idpIssuer: z.string().min(1).max(1024).optional(),
  groupsAttribute: z.string().min(1).max(256).default('groups'),
  emailAttribute: z.string().min(1).max(256).default('email'),
  // As for LDAP: SAML has no "verified" flag.
  trustEmails: z.boolean().default(true),
});

const clientSecret = z.object({ clientSecret: z.string().min(1).max(4096) });
/** Secrets per type: sealed, never returned. */
export const SECRET_SCHEMAS = {
  oidc: clientSecret,
  github: clientSecret,
  ldap: z.object({ bindPassword: z.string().min(1).max(4096) }),
  saml: z.object({ idpCert: z.string().min(1).max(16384).describe('the IdP signing certificate (PEM or base64)') }),
} as const;

export const SETTINGS_SCHEMAS = { oidc: oidcSettingsSchema, github: githubSettingsSchema, ldap: ldapSettingsSchema, saml: samlSettingsSchema } as const;

export type OidcSettings = z.infer<typeof oidcSettingsSchema>;
export type GithubSettings = z.infer<typeof githubSettingsSchema>;
export type LdapSettings = z.infer<typeof ldapSettingsSchema>;
export type SamlSettings = z.infer<typeof samlSettingsSchema>;
export type CommonSettings = { requireGroup: boolean; maxSessionHours: number; trustEmails: boolean; linkExistingAccounts: boolean };

/** The issuer an OIDC provider is discovered at: the preset's, with the tenant filled in, unless one is given. */
export function oidcIssuer(s: OidcSettings): string | null {
  if (s.issuer) return s.issuer;
  const preset = OIDC_PRESETS[s.preset];
  if (!preset) return null;
  if (preset.includes('{tenant}')) return s.tenant ? preset.replace('{tenant}', s.tenant) : null;
  return preset;
}

/**
 * LDAP mapping rules that could never match safely: a group named by its cn means "the group of that
 * name under groupBase", so without a groupBase it would match a group of that name anywhere in the
 * directory, including subtrees users may write to. Such a rule must name the group by DN instead.
 */
export function unanchoredGroupRules(type: ProviderType, settings: Record<string, unknown>, mappings: readonly MappingRule[]): { field: string; message: string }[] {
  if (type !== 'ldap' || settings.groupBase) return [];
  return mappings.flatMap((m, i) => (m.group.includes('=') ? [] : [{ field: `mappings.${i}.group`, message: 'without settings.groupBase, name the group by its DN (cn=…,ou=…), or set groupBase' }]));
}

