import type * as NodeSaml from '@node-saml/node-saml';
import type { CacheProvider, Profile, SAML } from '@node-saml/node-saml';
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { onFirstUse } from '../first-use.ts';
import { ProviderConfigError, SsoRefusedError } from './errors.ts';
import { FLOW_TTL_SECONDS, type FlowState, type FlowStore, type StartedFlow } from './flow-state.ts';
import type { AssertedIdentity } from './provision.ts';
import type { SamlSettings } from './settings.ts';
import type { LoadedProvider } from './store.ts';

const nodeSaml = onFirstUse<typeof NodeSaml>('@node-saml/node-saml');

/** How far the IdP's clock may be from ours when checking NotBefore / NotOnOrAfter. */
const CLOCK_SKEW_MS = 30_000;

/**
 * The ids of the AuthnRequests we sent, in Redis (node-saml's cache interface), so a response is
 * accepted only in answer to a request of ours, by whichever API process it reaches, once.
 */
function requestCache(redis: Redis, prefix: string, onSaved?: (id: string) => void): CacheProvider {
  const key = (id: string | null) => `${prefix}sso:saml-request:${id}`;
  return {
    async saveAsync(id, value) {
      onSaved?.(id);
      const ok = await redis.set(key(id), value, 'EX', FLOW_TTL_SECONDS, 'NX');
      return ok === 'OK' ? { value, createdAt: Date.now() } : null;
    },
    getAsync: (id) => redis.get(key(id)),
    removeAsync: (id) => redis.getdel(key(id)),
  };
}

export type SpUrls = { entityId: string; acsUrl: string };

function samlFor(provider: LoadedProvider, sp: SpUrls, redis: Redis, prefix: string, onRequestSaved?: (id: string) => void): SAML {
  const s = provider.settings as SamlSettings;
  const { SAML, ValidateInResponseTo } = nodeSaml();
  return new SAML({
    entryPoint: s.entryPoint,
    issuer: sp.entityId,
    callbackUrl: sp.acsUrl,
    audience: sp.entityId,
    idpCert: provider.secrets.idpCert!,
    ...(s.idpIssuer ? { idpIssuer: s.idpIssuer } : {}),
    // Every assertion must carry the IdP's signature; a signed envelope around an unsigned assertion is not enough.
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: false,
    acceptedClockSkewMs: CLOCK_SKEW_MS,
    validateInResponseTo: ValidateInResponseTo.always,
    requestIdExpirationPeriodMs: FLOW_TTL_SECONDS * 1000,
    cacheProvider: requestCache(redis, prefix, onRequestSaved),
    identifierFormat: null,
  });
}

/**
 * An AuthnRequest whose RelayState names our flow, as `state` does for OIDC: the IdP echoes it with the
 * response, so the ACS finds which browser started the login. The flow also keeps the request id, so a
 * response answers that flow's request and not another one of ours.
 */
export async function startSaml(provider: LoadedProvider, sp: SpUrls, redis: Redis, prefix: string): Promise<{ url: string; state: string; flow: StartedFlow }> {
  const state = randomBytes(32).toString('base64url');
  let requestId: string | undefined;
  let url: string;
  try {
    url = await samlFor(provider, sp, redis, prefix, (id) => (requestId = id)).getAuthorizeUrlAsync(state, undefined, {});
  } catch (err) {
    throw new ProviderConfigError(provider.slug, 'settings.entryPoint', `the AuthnRequest could not be made: ${(err as Error).message}`);
  }
  if (!requestId) throw new Error('node-saml made an AuthnRequest without caching its id');
  return { url, state, flow: { providerId: provider.id, requestId, redirectUri: sp.acsUrl } };
}

export function spMetadata(provider: LoadedProvider, sp: SpUrls, redis: Redis, prefix: string): string {
  return samlFor(provider, sp, redis, prefix).generateServiceProviderMetadata(null, null);
}

const attr = (profile: Profile, name: string): unknown => (profile as unknown as Record<string, unknown>)[name] ?? (profile.attributes as Record<string, unknown> | undefined)?.[name];

/** When the assertion stops being usable: its id is remembered until then, so a replay inside the window is refused. */
function notOnOrAfter(xml: string): number {
  const times = [...xml.matchAll(/NotOnOrAfter="([^"]+)"/g)].map((m) => Date.parse(m[1]!)).filter((t) => !Number.isNaN(t));
  return times.length ? Math.max(...times) : Date.now() + FLOW_TTL_SECONDS * 1000;
}

/**
 * Checks a posted SAMLResponse: node-saml verifies the assertion's XML signature against the IdP
 * certificate, issuer, audience (our entity id), NotBefore/NotOnOrAfter and that it answers a request of
 * ours; here, that it answers the request of `flow` (the one its RelayState named), the recipient and
 * destination (our ACS), then an assertion id seen before is refused (replay) until the assertion expires.
 */
export async function finishSaml(provider: LoadedProvider, sp: SpUrls, samlResponse: string, flow: FlowState, redis: Redis, prefix: string, flows: FlowStore): Promise<AssertedIdentity> {
  const s = provider.settings as SamlSettings;
  let profile: Profile | null;
  try {
    ({ profile } = await samlFor(provider, sp, redis, prefix).validatePostResponseAsync({ SAMLResponse: samlResponse }));
  } catch (err) {
    let message = (err as Error).message;
    // node-saml says this only when every SubjectConfirmationData's NotBefore/NotOnOrAfter is out of bounds.
    if (/no valid subject confirmation/i.test(message)) message = 'the assertion’s subject confirmation is expired or not yet valid';
    // Times out of bounds are usually the IdP's clock, not an attack: say how much we allow.
    const clocks = /not yet valid|expired/i.test(message) ? ` (we accept ${CLOCK_SKEW_MS / 1000} s between the identity provider's clock and ours)` : '';
    throw new SsoRefusedError(`the SAML response was refused: ${message}${clocks}`);
  }
  if (!profile) throw new SsoRefusedError('the SAML response carries no assertion');
  // node-saml knows the response answers some request of ours; the RelayState's flow must have sent that one.
  if (profile.inResponseTo !== flow.requestId) throw new SsoRefusedError('the SAML response answers another sign-in than its RelayState names');
  const xml = profile.getAssertionXml?.() ?? '';
  const id = /<(?:\w+:)?Assertion\b[^>]*\sID="([^"]+)"/.exec(xml)?.[1];
  if (!id) throw new SsoRefusedError('the SAML assertion has no ID');
  // node-saml checks audience and times but not where the assertion was meant to be delivered: a
  // bearer assertion issued for another SP's ACS must not sign anyone in here.
  const recipients = [...xml.matchAll(/<(?:\w+:)?SubjectConfirmationData\b[^>]*\sRecipient="([^"]+)"/g)].map((m) => m[1]);
  if (recipients.length === 0 || recipients.some((r) => r !== sp.acsUrl)) throw new SsoRefusedError(`the SAML assertion is for another recipient (expected ${sp.acsUrl})`);
  const destination = /<(?:\w+:)?Response\b[^>]*\sDestination="([^"]+)"/.exec(Buffer.from(samlResponse, 'base64').toString('utf8'))?.[1];
  if (destination && destination !== sp.acsUrl) throw new SsoRefusedError(`the SAML response is for another destination (expected ${sp.acsUrl})`);
  if (!(await flows.firstUse(id, (notOnOrAfter(xml) - Date.now() + CLOCK_SKEW_MS) / 1000))) throw new SsoRefusedError('this SAML assertion was already used (replay)');
  const rawGroups = attr(profile, s.groupsAttribute);
  const groups = Array.isArray(rawGroups) ? rawGroups.map(String) : rawGroups ? [String(rawGroups)] : [];
  const email = attr(profile, s.emailAttribute) ?? profile.email ?? profile.mail;
  return { subject: profile.nameID, email: email ? String(email) : null, emailVerified: s.trustEmails, name: null, groups };
}

/** The parts of an IdP's metadata a provider needs: its SSO URL (HTTP-Redirect), entity id and signing certificate. */
export function parseIdpMetadata(xml: string): { entryPoint: string; idpIssuer: string; idpCert: string } | null {
  const entityId = /<(?:\w+:)?EntityDescriptor\b[^>]*\sentityID="([^"]+)"/.exec(xml)?.[1];
  const sso = /<(?:\w+:)?SingleSignOnService\b[^>]*Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"[^>]*Location="([^"]+)"/.exec(xml)?.[1]
    ?? /<(?:\w+:)?SingleSignOnService\b[^>]*Location="([^"]+)"[^>]*Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"/.exec(xml)?.[1];
  const signing = /<(?:\w+:)?KeyDescriptor\b(?![^>]*use="encryption")[^>]*>[\s\S]*?<(?:\w+:)?X509Certificate>([^<]+)</.exec(xml)?.[1];
  if (!entityId || !sso || !signing) return null;
  return { entryPoint: sso, idpIssuer: entityId, idpCert: signing.replace(/\s+/g, '') };
}
