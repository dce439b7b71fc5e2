import type { EntityManager } from '@mikro-orm/postgresql';
import { SsoSessionSchema, type UserIdentity } from '../../db/entities/index.ts';
import { AuthenticationError, DomainError, NotFoundError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Session, SessionService } from '../refresh-tokens.ts';
import type { Keyring } from '../secrets/keyring.ts';
import { ProviderConfigError, SsoRefusedError } from './errors.ts';
import { recheckGithub } from './github.ts';
import { recheckLdap } from './ldap.ts';
import { recheckOidc } from './oidc.ts';
import { applyMappings, assertMayEnter, mappedRoles } from './provision.ts';
import { loadProvider, type LoadedProvider } from './store.ts';

export type SsoDeps = { keyring: Keyring; sessions: SessionService; logger: Logger };

const upstreamContext = (family: string) => `sso-session:${family}`;

/** Records that the session `family` was started through a provider, with what a refresh needs to ask it again. */
export async function recordSsoSession(deps: SsoDeps, em: EntityManager, opts: { family: string; identityId: string; upstream: string | null; maxSessionHours: number }): Promise<void> {
  const sealed = opts.upstream ? await deps.keyring.seal(opts.upstream, upstreamContext(opts.family)) : null;
  const now = new Date();
  em.create(SsoSessionSchema, {
    family: opts.family, identity: opts.identityId, upstream: sealed?.envelope ?? null, keyId: sealed?.keyId ?? null,
    expiresAt: new Date(now.getTime() + opts.maxSessionHours * 3600_000), checkedAt: now,
  });
  await em.flush();
}

/** What the provider says now: the user's current groups, or a refusal; a new upstream token when it rotated. */
async function askProvider(provider: LoadedProvider, subject: string, upstream: string | null): Promise<{ groups: string[]; upstream?: string } | null> {
  switch (provider.type) {
    case 'ldap':
      return recheckLdap(provider, subject);
    case 'oidc':
      return upstream ? recheckOidc(provider, upstream) : null;
    case 'github':
      return upstream ? recheckGithub(provider, upstream, subject) : null;
    default:
      // SAML has no back channel: its sessions hold until maxSessionHours.
      return null;
  }
}

/**
 * Called on each refresh of a session started through a provider (local sessions have no row and pass).
 * The provider is asked again: a user it no longer knows, disabled, or no longer in a group that gives
 * access loses the session now (revoked, like a logout); changed groups change memberships. When the
 * provider cannot be reached, the session goes on (an outage at the provider must not sign everyone
 * out) but never beyond the provider's maxSessionHours.
 */
export async function recheckSsoSession(deps: SsoDeps, em: EntityManager, session: Pick<Session, 'family' | 'userId'>): Promise<void> {
  const row = await em.findOne(SsoSessionSchema, { family: session.family }, { populate: ['identity'] });
  if (!row) return;
  const identity = row.identity as unknown as UserIdentity;
  const providerId = (identity.provider as unknown as { id: string }).id;
  try {
    if (row.expiresAt.getTime() <= Date.now()) throw new SsoRefusedError('the session reached the longest the sign-in provider allows; sign in again');
    const provider = await loadProvider(deps.keyring, em, { id: providerId }).catch((err: unknown) => {
      throw err instanceof NotFoundError ? new SsoRefusedError('the sign-in provider of this session was disabled or removed') : err;
    });
    const upstream = row.upstream ? await deps.keyring.open(row.upstream, upstreamContext(session.family)) : null;
    let answer: Awaited<ReturnType<typeof askProvider>>;
    try {
      answer = await askProvider(provider, identity.subject, upstream);
    } catch (err) {
      if (err instanceof ProviderConfigError) {
        deps.logger.warn({ provider: provider.slug, setting: err.setting, err: err.message }, 'sign-in provider unreachable at refresh; session kept until its maximum length');
        return;
      }
      throw err;
    }
    if (!answer) return;
    const roles = mappedRoles(provider.mappings, answer.groups);
    const user = { id: session.userId, email: identity.email };
    await em.transactional(async (tx) => {
      await applyMappings(tx, deps.logger, provider, user, roles, null);
      const fresh = await tx.findOneOrFail(SsoSessionSchema, { family: session.family });
      fresh.checkedAt = new Date();
      if (answer.upstream && answer.upstream !== upstream) {
        const sealed = await deps.keyring.seal(answer.upstream, upstreamContext(session.family));
        fresh.upstream = sealed.envelope;
        fresh.keyId = sealed.keyId;
      }
    });
    await deps.sessions.accessChanged([session.userId]);
    // After the memberships followed the groups: someone who left them all keeps no team role either.
    assertMayEnter(provider, answer.groups);
  } catch (err) {
    if (!(err instanceof DomainError) || err instanceof ProviderConfigError) throw err;
    await deps.sessions.revoke(em, session.family, 'sso-recheck');
    deps.logger.info({ family: session.family, reason: err.message }, 'sign-in provider no longer vouches for the user; session revoked');
    throw new AuthenticationError(err.message);
  }
}
