import type { EntityManager } from '@mikro-orm/postgresql';
import { ROLES, type Role } from '../../contracts/permissions.ts';
import { AuditLogSchema, UserIdentitySchema, type User } from '../../db/entities/index.ts';
import { recordAudit } from '../../db/repositories/audit.ts';
import { findTeamBySlug, lockMemberships, putMembership, removeMembership } from '../../db/repositories/teams.ts';
import { createUserRow, findUser, lockUser } from '../../db/repositories/users.ts';
import type { Logger } from '../logger.ts';
import { hashPassword } from '../passwords.ts';
import { SsoRefusedError } from './errors.ts';
import type { CommonSettings, MappingRule } from './settings.ts';
import type { LoadedProvider } from './store.ts';

/** What a provider vouched for, once its own checks (signature, audience, state, nonce...) passed. */
export type AssertedIdentity = {
  /** The provider's stable id for the person: OIDC `sub`, GitHub user id, LDAP DN, SAML NameID. */
  subject: string;
  email: string | null;
  emailVerified: boolean;
  name: string | null;
  groups: string[];
};

/** The role each team the rules speak of should hold (null: no rule matches, the membership goes). */
export function mappedRoles(rules: MappingRule[], groups: string[]): Map<string, Role | null> {
  const held = new Set(groups.map((g) => g.toLowerCase()));
  const roles = new Map<string, Role | null>();
  for (const rule of rules) {
    const current = roles.get(rule.team) ?? null;
    if (!held.has(rule.group.toLowerCase())) {
      roles.set(rule.team, current);
      continue;
    }
    const role = rule.role as Role;
    roles.set(rule.team, current && ROLES.indexOf(current) >= ROLES.indexOf(role) ? current : role);
  }
  return roles;
}

/** Refused when the provider requires a mapped group and none matches. */
export function assertMayEnter(provider: LoadedProvider, groups: string[]): Map<string, Role | null> {
  const roles = mappedRoles(provider.mappings, groups);
  const common = provider.settings as unknown as CommonSettings;
  if (common.requireGroup && ![...roles.values()].some(Boolean)) {
    throw new SsoRefusedError(`you are not in any group that gives access through ${provider.name}`);
  }
  return roles;
}

/** The audit action of a mapping held back because it would leave a team without an admin. */
export const LAST_ADMIN_KEPT = 'team.member.last_admin_kept';
/** While the conflict stands, one audit row a day per (team, user) is enough; a refresh every 15 minutes would bury the log. */
const LAST_ADMIN_AUDIT_EVERY_MS = 24 * 3600_000;

/**
 * Memberships of the teams the provider's rules speak of follow the groups: set to the mapped role, or
 * removed. Other teams' memberships are the admins' and are left alone. Returns whether anything changed.
 *
 * One exception, the rule the members API keeps (api/services/memberships.ts): a team never loses its
 * last admin. A group change at the IdP that would demote or remove the only admin is not applied: a
 * team without an admin can only be repaired by a platform admin, and the IdP change is as likely a
 * reshuffle of groups as a decision about this team. It is audited (`team.member.last_admin_kept`,
 * visible in the team's audit log), logged as a warning, and listed under `warnings` on the provider
 * until the team has another admin; then the next sign-in or refresh applies the mapping.
 */
export async function applyMappings(tx: EntityManager, logger: Logger, provider: LoadedProvider, user: { id: string; email: string }, roles: Map<string, Role | null>, ip: string | null): Promise<boolean> {
  let changed = false;
  for (const [slug, role] of roles) {
    const team = await findTeamBySlug(tx, slug);
    if (!team) {
      logger.warn({ provider: provider.slug, team: slug }, 'a mapping rule names a team that does not exist; rule skipped');
      continue;
    }
    const actor = { id: user.id, email: user.email };
    const data = { provider: provider.slug };
    if (role !== 'admin') {
      // Locked like the members API does, so two sign-ins demoting the last two admins cannot both pass.
      const members = await lockMemberships(tx, team.id);
      const held = members.find((m) => m.userId === user.id)?.role;
      if (held === 'admin' && !members.some((m) => m.role === 'admin' && m.userId !== user.id)) {
        logger.warn({ provider: provider.slug, team: slug, userId: user.id, mappedRole: role }, 'a mapping would leave the team without an admin; the last admin keeps the role');
        const resourceId = `${team.id}:${user.id}`;
        const recent = await tx.count(AuditLogSchema, { action: LAST_ADMIN_KEPT, resourceType: 'membership', resourceId, createdAt: { $gt: new Date(Date.now() - LAST_ADMIN_AUDIT_EVERY_MS) } });
        if (!recent) recordAudit(tx, { actor, action: LAST_ADMIN_KEPT, resourceType: 'membership', resourceId, teamId: team.id, ip, data: { ...data, userId: user.id, role: 'admin', mappedRole: role } });
        continue;
      }
    }
    if (role) {
      const { previousRole } = await putMembership(tx, team.id, user.id, role);
      if (previousRole === role) continue;
      recordAudit(tx, { actor, action: previousRole ? 'team.member.update' : 'team.member.add', resourceType: 'membership', resourceId: `${team.id}:${user.id}`, teamId: team.id, ip, data: { ...data, role, previousRole } });
      changed = true;
    } else {
      const previousRole = await removeMembership(tx, team.id, user.id);
      if (!previousRole) continue;
      recordAudit(tx, { actor, action: 'team.member.remove', resourceType: 'membership', resourceId: `${team.id}:${user.id}`, teamId: team.id, ip, data: { ...data, previousRole } });
      changed = true;
    }
  }
  return changed;
}

/**
 * The account an asserted identity signs in as, in one transaction: the linked one; else, when the
 * provider verified the email, a new account with it (just in time), or the account that already holds
 * it, linked only when the provider's `linkExistingAccounts` is on. A refusal rolls everything back:
 * no half-created user, no link, no membership.
 */
export async function provisionUser(
  em: EntityManager,
  logger: Logger,
  provider: LoadedProvider,
  asserted: AssertedIdentity,
  ip: string | null,
): Promise<{ user: User; identityId: string }> {
  const roles = assertMayEnter(provider, asserted.groups);
  const settings = provider.settings as unknown as CommonSettings;
  const trusted = settings.trustEmails || asserted.emailVerified;
  // Hashed outside the transaction (argon2 takes long enough to matter while rows are locked), and only
  // when the person may be new: a returning user's sign-in pays nothing for it.
  const known = await em.count(UserIdentitySchema, { provider: provider.id, subject: asserted.subject });
  const unusablePassword = known ? '' : await hashPassword(crypto.randomUUID() + crypto.randomUUID());
  return em.transactional(async (tx) => {
    const now = new Date();
    let identity = await tx.findOne(UserIdentitySchema, { provider: provider.id, subject: asserted.subject }, { populate: ['user'] });
    let user: User;
    if (identity) {
      user = identity.user as unknown as User;
      if (asserted.email) identity.email = asserted.email.toLowerCase();
      identity.lastLoginAt = now;
    } else {
      if (!asserted.email) throw new SsoRefusedError(`${provider.name} did not tell us your email address`);
      if (!trusted) throw new SsoRefusedError(`${provider.name} has not verified your email address ${asserted.email}; verify it there first`);
      const existing = await findUser(tx, { email: asserted.email });
      if (existing) {
        // Even a verified email is only what the provider says: an account holder (a platform admin too)
        // must not be signed in as by whoever can set that email there, unless the admin vouches for it.
        if (!settings.linkExistingAccounts) {
          throw new SsoRefusedError(`an OpsSight account already uses ${asserted.email} and is not linked to ${provider.name}; ask a platform admin, who can turn on linking for ${provider.name} or rename the existing account`);
        }
        user = existing;
        recordAudit(tx, { actor: { id: user.id, email: user.email }, action: 'auth.identity.link', resourceType: 'user', resourceId: user.id, ip, data: { provider: provider.slug, subject: asserted.subject } });
      } else {
        if (!unusablePassword) throw new SsoRefusedError('your account link changed during sign-in; try again');
        // A password nobody knows: the account signs in through the provider (an admin may set one later).
        user = createUserRow(tx, { email: asserted.email, name: asserted.name || asserted.email.split('@')[0]!, passwordHash: unusablePassword, isAdmin: false });
        recordAudit(tx, { actor: null, action: 'user.create', resourceType: 'user', resourceId: user.id, ip, data: { provider: provider.slug, justInTime: true } });
      }
      identity = tx.create(UserIdentitySchema, { id: crypto.randomUUID(), provider: provider.id, subject: asserted.subject, user: user.id, email: asserted.email.toLowerCase(), lastLoginAt: now });
    }
    const locked = await lockUser(tx, user.id);
    if (locked?.disabled) throw new SsoRefusedError('this account is disabled');
    await applyMappings(tx, logger, provider, { id: user.id, email: user.email }, roles, ip);
    await tx.flush();
    return { user, identityId: identity.id };
  });
}
