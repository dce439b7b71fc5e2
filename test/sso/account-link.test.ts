import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AuditLogSchema, MembershipSchema, UserIdentitySchema, UserSchema } from '../../db/entities/index.ts';
import { client, tokenFor } from '../fixtures/http.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { OIDC_CLIENT, startOidcProvider, type OidcPeer } from '../peers/oidc-provider.ts';
import { ownRedisKeys, startApi, type TestApi } from '../peers/stack.ts';
import { fragmentOf, locationOf, throughProvider } from './redirects.ts';

// A first sign-in whose (verified) email an existing account holds: refused unless the provider's
// `linkExistingAccounts` is on. Otherwise whoever can set that email at an IdP signs in as the account.
// The LDAP side is in test/sso/ldap.test.ts.
let api: TestApi;
let idp: OidcPeer;
let adminToken: string;
let team: { id: string; slug: string };
const tag = crypto.randomUUID().slice(0, 6);
const slug = (s: string) => `${s}-link-${tag}`;
const callbackOf = (s: string) => `${api.baseUrl}/api/v1/sso/${slug(s)}/callback`;
const em = () => api.deps.db.em.fork();
const email = (who: string) => `${who}-${tag}@corp.test`;

async function addProvider(name: string, settings: Record<string, unknown> = {}) {
  const res = await client(api, adminToken).post('/api/v1/auth/providers', {
    slug: slug(name),
    name: `Corp ${name}`,
    type: 'oidc',
    settings: { issuer: idp.issuer, clientId: OIDC_CLIENT.clientId, scopes: ['openid', 'email', 'profile', 'groups'], ...settings },
    secrets: { clientSecret: OIDC_CLIENT.clientSecret },
    mappings: [{ group: 'ops', team: team.slug, role: 'operator' }],
  });
  expect(res.status).toBe(201);
  return res.body as { id: string };
}

/** Up to our callback, where the account is chosen: its fragment holds the one-time code or the refusal. */
async function signIn(provider: string, login: string): Promise<Record<string, string>> {
  const back = await throughProvider(`${api.baseUrl}/api/v1/sso/${slug(provider)}/start`, callbackOf(provider), { login, password: 'any' });
  return fragmentOf(back.hash ? back : await locationOf(back));
}

beforeAll(async () => {
  api = await startApi(ownRedisKeys(`sso-link-${tag}`));
  team = await createTeam(api.deps.db.em, `link-${tag}`);
  adminToken = await tokenFor(api, (await createUser(api.deps.db.em, { role: 'platform-admin' })).id);
  idp = await startOidcProvider({
    redirectUris: ['strict', 'linking'].map(callbackOf),
    accounts: {
      // Verified at the IdP, in the mapped group: everything but the link would let them in.
      uma: { email: email('Uma'), emailVerified: true, name: 'Uma', groups: ['ops'] },
      root: { email: email('root'), emailVerified: true, name: 'Root', groups: ['ops'] },
      vic: { email: email('vic'), emailVerified: true, name: 'Vic', groups: ['ops'] },
    },
  });
  await addProvider('strict');
  await addProvider('linking', { linkExistingAccounts: true });
});
afterAll(async () => {
  await idp?.stop();
  await api?.close();
});

describe('a first sign-in with the email of an existing account', () => {
  it('is refused by default, telling the user whom to ask; nothing is written and the account keeps its memberships', async () => {
    const local = await createUser(api.deps.db.em, { email: email('uma'), teams: [team], role: 'viewer' });
    const refused = await signIn('strict', 'uma');
    expect(refused.sso).toBeUndefined();
    // The email as the IdP asserted it (case and all): nothing the user did not say already.
    expect(refused.sso_error).toBe(`an OpsSight account already uses ${email('Uma')} and is not linked to Corp strict; ask a platform admin, who can turn on linking for Corp strict or rename the existing account`);
    expect(await em().count(UserIdentitySchema, { subject: 'uma' })).toBe(0);
    expect(await em().count(UserIdentitySchema, { user: local.id })).toBe(0);
    expect(await em().count(UserSchema, { email: email('uma') })).toBe(1);
    expect(await em().count(AuditLogSchema, { action: 'auth.identity.link', resourceId: local.id })).toBe(0);
    expect((await em().find(MembershipSchema, { user: local.id })).map((m) => m.role)).toEqual(['viewer']);

    // A platform admin's address is no way in either.
    const admin = await createUser(api.deps.db.em, { email: email('root'), role: 'platform-admin' });
    expect((await signIn('strict', 'root')).sso_error).toMatch(/already uses .* is not linked/);
    expect(await em().count(UserIdentitySchema, { user: admin.id })).toBe(0);
    expect(await em().count(MembershipSchema, { user: admin.id })).toBe(0);
  });

  it('links to the account when the provider’s linkExistingAccounts is on, audited, and maps its groups', async () => {
    const local = await createUser(api.deps.db.em, { email: email('vic'), teams: [team], role: 'viewer' });
    const done = await signIn('linking', 'vic');
    expect(done).toEqual({ sso: expect.any(String) });
    expect(await em().findOneOrFail(UserIdentitySchema, { subject: 'vic', provider: { slug: slug('linking') } })).toMatchObject({ user: expect.objectContaining({ id: local.id }) });
    expect(await em().count(AuditLogSchema, { action: 'auth.identity.link', resourceId: local.id })).toBe(1);
    expect((await em().findOneOrFail(MembershipSchema, { user: local.id, team: team.id })).role).toBe('operator');
    expect(await em().count(UserSchema, { email: email('vic') })).toBe(1);
  });
});
