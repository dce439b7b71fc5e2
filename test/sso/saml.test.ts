import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RefreshFamilySchema, UserSchema } from '../../db/entities/index.ts';
import { client, tokenFor } from '../fixtures/http.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { ownRedisKeys, startApi, type TestApi } from '../peers/stack.ts';
import { Browser, exchange, fragmentOf, locationOf } from './redirects.ts';
import { acsForm, authnRequestOf, idpKeyPair, idpMetadata, samlResponse, type AssertionInput } from './saml-idp.ts';

let api: TestApi;
let adminToken: string;
let team: { id: string; slug: string };
const tag = crypto.randomUUID().slice(0, 6);
const slug = `saml-${tag}`;
const otherSlug = `saml2-${tag}`;
const key = idpKeyPair();
const other = idpKeyPair();
const IDP = 'https://idp.test/saml';
const em = () => api.deps.db.em.fork();
const sp = () => ({ audience: `${api.baseUrl}/api/v1/sso/${slug}/metadata`, acsUrl: `${api.baseUrl}/api/v1/sso/${slug}/acs` });

const assertion = (inResponseTo: string, over: Partial<AssertionInput> = {}): AssertionInput => ({
  idpIssuer: IDP, ...sp(), inResponseTo, nameId: `nina-${tag}@corp.test`, email: `nina-${tag}@corp.test`, groups: ['ops'], ...over,
});
type Answer = { b64: string; relayState: string | null; browser: Browser };
/**
 * A sign-in started at our SP (provider `at`) by `browser`, and the IdP's answer: a response to its
 * AuthnRequest (signed by `signer`), with its RelayState to echo.
 */
async function answered(over: Partial<AssertionInput> = {}, opts: { signer?: typeof key; sign?: boolean; browser?: Browser; at?: string } = {}): Promise<Answer> {
  const browser = opts.browser ?? new Browser();
  const redirect = await locationOf(`${api.baseUrl}/api/v1/sso/${opts.at ?? slug}/start`, browser);
  expect(redirect.origin + redirect.pathname).toBe('https://idp.test/sso');
  const request = authnRequestOf(redirect);
  return { b64: samlResponse(opts.signer ?? key, assertion(request.id, over), { sign: opts.sign ?? true }), relayState: request.relayState, browser };
}
/** The IdP's page auto-posting to our ACS: a cross-site POST, which carries none of our SameSite=Lax cookies. */
async function post(a: { b64: string; relayState: string | null }): Promise<Record<string, string>> {
  const res = await fetch(`${api.baseUrl}/api/v1/sso/${slug}/acs`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: acsForm(a.b64, a.relayState).toString() });
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
  for (const [s, name] of [[slug, 'Corp SAML'], [otherSlug, 'Other SAML']]) {
    const created = await client(api, adminToken).post('/api/v1/auth/providers', {
      slug: s, name, type: 'saml', settings: imported.body.settings, secrets: imported.body.secrets,
      mappings: [{ group: 'ops', team: team.slug, role: 'approver' }],
    });
    expect(created.status).toBe(201);
  }
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
    const good = await answered();
    expect(good.relayState).toEqual(expect.any(String));
    const done = await post(good);
    expect(done.sso).toEqual(expect.any(String));
    const tokens = (await exchange(api, done.sso, good.browser)).body;
    expect(tokens.user.email).toBe(`nina-${tag}@corp.test`);
    const me = await client(api, tokens.accessToken as string).get('/api/v1/me');
    expect(me.body.teams).toEqual([expect.objectContaining({ slug: team.slug, role: 'approver' })]);
    // The same post again: its RelayState's flow is over; under a new flow's, it answers a request already answered.
    expect((await post(good)).sso_error).toMatch(/state mismatch/);
    expect((await post({ ...good, relayState: (await answered()).relayState })).sso_error).toMatch(/refused/);

    // Replay refused even for a new request id: the assertion id is what is remembered.
    const id = `_replayed${tag}`;
    expect((await post(await answered({ id }))).sso).toEqual(expect.any(String));
    expect((await post(await answered({ id }))).sso_error).toMatch(/replay/);
  });

  it('hands the session only to the browser that started the sign-in: a response auto-posted from another browser (login CSRF) signs no one in', async () => {
    const victim = new Browser();
    const planted = await post(await answered({ email: `mallory-${tag}@corp.test`, nameId: `mallory-${tag}` }));
    expect(planted.sso).toEqual(expect.any(String));
    const refused = await exchange(api, planted.sso, victim);
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ errors: [{ field: 'code' }] });
    expect(refused.body.accessToken).toBeUndefined();
    const mallory = await em().findOneOrFail(UserSchema, { email: `mallory-${tag}@corp.test` });
    expect(await em().count(RefreshFamilySchema, { user: mallory.id, revokedReason: 'sso-unbound' })).toBe(1);

    // Another sign-in's cookie is no better than none; the rightful browser's is what works.
    const mine = await answered({}, { browser: victim });
    const theirs = await post(await answered());
    expect((await exchange(api, theirs.sso, victim)).status).toBe(400);
    const ok = await exchange(api, (await post(mine)).sso, victim);
    expect(ok.status).toBe(200);
    expect(ok.body.user.email).toBe(`nina-${tag}@corp.test`);
  });

  it('refuses a response without a RelayState, with one we never issued, one of another provider, or one naming another of our requests', async () => {
    const state = /state mismatch/;
    expect((await post({ ...(await answered()), relayState: null })).sso_error).toMatch(state);
    expect((await post({ ...(await answered()), relayState: 'never-issued' })).sso_error).toMatch(state);
    const elsewhere = await answered({}, { at: otherSlug });
    expect((await post({ ...(await answered()), relayState: elsewhere.relayState })).sso_error).toMatch(state);
    // Two of our flows, each answer posted with the other's RelayState.
    const [a, b] = [await answered(), await answered()];
    expect((await post({ ...a, relayState: b.relayState })).sso_error).toMatch(/another sign-in/);
  });

  it('refuses tampered, unsigned, foreign-signed, expired, wrong-audience, wrong-recipient and unsolicited responses, creating no one', async () => {
    const victim = `victim-${tag}@corp.test`;
    const x = await answered({ email: `x-${tag}@corp.test`, nameId: `x-${tag}` });
    const tampered = { ...x, b64: Buffer.from(Buffer.from(x.b64, 'base64').toString().replaceAll(`x-${tag}`, `victim-${tag}`)).toString('base64') };
    const as = { email: victim, nameId: victim };
    const cases: Record<string, Answer> = {
      tampered,
      unsigned: await answered(as, { sign: false }),
      'signed by another key': await answered(as, { signer: other }),
      expired: await answered({ ...as, validForSeconds: -120 }),
      'wrong audience': await answered({ ...as, audience: 'https://other-sp.test' }),
      'wrong recipient': await answered({ ...as, acsUrl: 'https://other-sp.test/acs' }),
      unsolicited: await answered({ ...as, inResponseTo: '_never-requested' }),
    };
    for (const [name, answer] of Object.entries(cases)) {
      const outcome = await post(answer);
      expect({ name, refused: Boolean(outcome.sso_error), signedIn: Boolean(outcome.sso) }).toEqual({ name, refused: true, signedIn: false });
    }
    expect(await em().count(UserSchema, { email: { $in: [victim, `x-${tag}@corp.test`] } })).toBe(0);
  });

  it('tolerates 30 s between the IdP’s clock and ours either way (NotBefore ahead, NotOnOrAfter behind), and refuses more', async () => {
    const skewed = `skew-${tag}@corp.test`;
    const as = (over: Partial<AssertionInput>) => () => answered({ email: skewed, nameId: skewed, ...over });
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
