import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { UserSchema } from '../../db/entities/index.ts';
import { client, tokenFor } from '../fixtures/http.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { ownRedisKeys, startApi, type TestApi } from '../peers/stack.ts';
import { fragmentOf, locationOf } from './redirects.ts';
import { authnRequestId, idpKeyPair, idpMetadata, samlResponse, type AssertionInput } from './saml-idp.ts';

let api: TestApi;
let adminToken: string;
let team: { id: string; slug: string };
const tag = crypto.randomUUID().slice(0, 6);
const slug = `saml-${tag}`;
const key = idpKeyPair();
const other = idpKeyPair();
const IDP = 'https://idp.test/saml';
const em = () => api.deps.db.em.fork();
const sp = () => ({ audience: `${api.baseUrl}/api/v1/sso/${slug}/metadata`, acsUrl: `${api.baseUrl}/api/v1/sso/${slug}/acs` });

/** A sign-in started at our SP: the AuthnRequest id an honest response answers. */
async function started(): Promise<string> {
  const redirect = await locationOf(`${api.baseUrl}/api/v1/sso/${slug}/start`);
  expect(redirect.origin + redirect.pathname).toBe('https://idp.test/sso');
  return authnRequestId(redirect);
}
const assertion = (inResponseTo: string, over: Partial<AssertionInput> = {}): AssertionInput => ({
  idpIssuer: IDP, ...sp(), inResponseTo, nameId: `nina-${tag}@corp.test`, email: `nina-${tag}@corp.test`, groups: ['ops'], ...over,
});
async function post(b64: string): Promise<Record<string, string>> {
  const res = await fetch(`${api.baseUrl}/api/v1/sso/${slug}/acs`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ SAMLResponse: b64 }).toString() });
  expect(res.status).toBe(302);
  return fragmentOf(new URL(res.headers.get('location')!, api.baseUrl));
}

beforeAll(async () => {
  api = await startApi(ownRedisKeys(`sso-saml-${tag}`));
  team = await createTeam(api.deps.db.em, `saml-${tag}`);
  const admin = await createUser(api.deps.db.em, { role: 'platform-admin' });
  adminToken = await tokenFor(api, admin.id);
  // Configured the way an admin would: from the IdP's metadata.
  const imported = await client(api, adminToken).post('/api/v1/auth/providers/saml-metadata', { xml: idpMetadata(IDP, 'https://idp.test/sso', key.cert) });
  expect(imported.status).toBe(200);
  const created = await client(api, adminToken).post('/api/v1/auth/providers', {
    slug, name: 'Corp SAML', type: 'saml', settings: imported.body.settings, secrets: imported.body.secrets,
    mappings: [{ group: 'ops', team: team.slug, role: 'approver' }],
  });
  expect(created.status).toBe(201);
});
afterAll(() => api?.close());

describe('SAML 2.0 service provider', () => {
  it('publishes SP metadata naming its entity id and ACS', async () => {
    const res = await fetch(`${api.baseUrl}/api/v1/sso/${slug}/metadata`);
    expect(res.headers.get('content-type')).toMatch(/samlmetadata\+xml/);
    const xml = await res.text();
    expect(xml).toContain(`entityID="${sp().audience}"`);
    expect(xml).toContain(`Location="${sp().acsUrl}"`);
  });

  it('accepts a signed assertion answering our request, once: the same assertion again is a replay', async () => {
    const good = samlResponse(key, assertion(await started()));
    const done = await post(good);
    expect(done.sso).toEqual(expect.any(String));
    const tokens = (await client(api).post('/api/v1/sso/exchange', { code: done.sso })).body;
    expect(tokens.user.email).toBe(`nina-${tag}@corp.test`);
    const me = await client(api, tokens.accessToken as string).get('/api/v1/me');
    expect(me.body.teams).toEqual([expect.objectContaining({ slug: team.slug, role: 'approver' })]);
    expect((await post(good)).sso_error).toMatch(/refused|replay/);

    // Replay refused even for a new request id: the assertion id is what is remembered.
    const id = `_replayed${tag}`;
    expect((await post(samlResponse(key, assertion(await started(), { id })))).sso).toEqual(expect.any(String));
    expect((await post(samlResponse(key, assertion(await started(), { id })))).sso_error).toMatch(/replay/);
  });

  it('refuses tampered, unsigned, foreign-signed, expired, wrong-audience, wrong-recipient and unsolicited responses, creating no one', async () => {
    const victim = `victim-${tag}@corp.test`;
    const tampered = Buffer.from(Buffer.from(samlResponse(key, assertion(await started(), { email: `x-${tag}@corp.test`, nameId: `x-${tag}` })), 'base64').toString().replaceAll(`x-${tag}`, `victim-${tag}`)).toString('base64');
    const cases: Record<string, string> = {
      tampered,
      unsigned: samlResponse(key, assertion(await started(), { email: victim, nameId: victim }), { sign: false }),
      'signed by another key': samlResponse(other, assertion(await started(), { email: victim, nameId: victim })),
      expired: samlResponse(key, assertion(await started(), { email: victim, nameId: victim, validForSeconds: -120 })),
      'wrong audience': samlResponse(key, assertion(await started(), { email: victim, nameId: victim, audience: 'https://other-sp.test' })),
      'wrong recipient': samlResponse(key, assertion(await started(), { email: victim, nameId: victim, acsUrl: 'https://other-sp.test/acs' })),
      unsolicited: samlResponse(key, assertion('_never-requested', { email: victim, nameId: victim })),
    };
    for (const [name, b64] of Object.entries(cases)) {
      const outcome = await post(b64);
      expect({ name, refused: Boolean(outcome.sso_error), signedIn: Boolean(outcome.sso) }).toEqual({ name, refused: true, signedIn: false });
    }
    expect(await em().count(UserSchema, { email: { $in: [victim, `x-${tag}@corp.test`] } })).toBe(0);
  });

  it('tolerates 30 s between the IdP’s clock and ours either way (NotBefore ahead, NotOnOrAfter behind), and refuses more', async () => {
    const skewed = `skew-${tag}@corp.test`;
    const as = (over: Partial<AssertionInput>) => async () => samlResponse(key, assertion(await started(), { email: skewed, nameId: skewed, ...over }));
    for (const make of [as({ notBeforeSeconds: 20 }), as({ validForSeconds: -20 })]) {
      expect(await post(await make())).toEqual({ sso: expect.any(String) });
    }
    const refusals = [[as({ notBeforeSeconds: 60 }), /not yet valid/], [as({ validForSeconds: -60 }), /expired/]] as const;
    for (const [make, why] of refusals) {
      const outcome = await post(await make());
      expect(outcome.sso).toBeUndefined();
      expect(outcome.sso_error).toMatch(why);
      expect(outcome.sso_error).toMatch(/30 s/);
    }
  });
});
