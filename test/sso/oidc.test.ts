import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { AuditLogSchema, MembershipSchema, RefreshFamilySchema, UserIdentitySchema, UserSchema } from '../../db/entities/index.ts';
import { client, tokenFor } from '../fixtures/http.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { OIDC_CLIENT, startOidcProvider, type OidcPeer } from '../peers/oidc-provider.ts';
import { ownRedisKeys, startApi, type TestApi } from '../peers/stack.ts';
import { Browser, exchange, fragmentOf, locationOf, throughProvider } from './redirects.ts';

let api: TestApi;
let idp: OidcPeer;
let adminToken: string;
let team: { id: string; slug: string };
const tag = crypto.randomUUID().slice(0, 6);
const slug = (s: string) => `${s}-${tag}`;
const em = () => api.deps.db.em.fork();
const callbackOf = (s: string) => `${api.baseUrl}/api/v1/sso/${slug(s)}/callback`;
/** The browser of the latest sign-in, which redeem() exchanges from: a new one each time, or the provider would remember who signed in. */
let browser = new Browser();

async function addProvider(name: string, overrides: { settings?: Record<string, unknown>; secrets?: Record<string, string> } = {}) {
  const res = await client(api, adminToken).post('/api/v1/auth/providers', {
    slug: slug(name),
    name: `Corp ${name}`,
    type: 'oidc',
    settings: { issuer: idp.issuer, clientId: OIDC_CLIENT.clientId, scopes: ['openid', 'email', 'profile', 'groups'], requireGroup: true, ...overrides.settings },
    secrets: { clientSecret: OIDC_CLIENT.clientSecret, ...overrides.secrets },
    mappings: [
      { group: 'ops', team: team.slug, role: 'operator' },
      { group: 'ops-leads', team: team.slug, role: 'admin' },
    ],
  });
  expect(res.status).toBe(201);
  return res.body as { id: string };
}

/** The whole browser round trip: our start, the provider's login and consent pages, back to our callback. */
async function signIn(provider: string, login: string, from?: Browser): Promise<Record<string, string>> {
  if (!from) browser = from = new Browser();
  const back = await throughProvider(`${api.baseUrl}/api/v1/sso/${slug(provider)}/start`, callbackOf(provider), { login, password: 'any' }, from);
  return fragmentOf(back.hash ? back : await locationOf(back, from));
}

async function redeem(code: string) {
  const res = await exchange(api, code, browser);
  expect(res.status).toBe(200);
  return res.body as { accessToken: string; refreshToken: string; user: { email: string; id: string } };
}

beforeAll(async () => {
  api = await startApi(ownRedisKeys(`sso-oidc-${tag}`));
  team = await createTeam(api.deps.db.em, `sso-${tag}`);
  // A local team admin: the team never depends on an SSO user for its only admin (test/sso/last-admin.test.ts covers that).
  await createUser(api.deps.db.em, { teams: [team], role: 'admin' });
  const admin = await createUser(api.deps.db.em, { role: 'platform-admin' });
  adminToken = await tokenFor(api, admin.id);
  idp = await startOidcProvider({
    redirectUris: ['corp', 'secret', 'issuer', 'skew'].map(callbackOf),
    accounts: {
      alice: { email: `alice-${tag}@corp.test`, emailVerified: true, name: 'Alice', groups: ['ops'] },
      carol: { email: `carol-${tag}@corp.test`, emailVerified: false, name: 'Carol', groups: ['ops'] },
      dave: { email: `dave-${tag}@corp.test`, emailVerified: true, name: 'Dave', groups: ['ops'] },
      erin: { email: `erin-${tag}@corp.test`, emailVerified: true, name: 'Erin', groups: ['marketing'] },
      hank: { email: `hank-${tag}@corp.test`, emailVerified: true, name: 'Hank', groups: ['ops'] },
      ivy: { email: `ivy-${tag}@corp.test`, emailVerified: true, name: 'Ivy', groups: ['ops'] },
      jack: { email: `jack-${tag}@corp.test`, emailVerified: true, name: 'Jack', groups: ['ops'] },
      mona: { email: `mona-${tag}@corp.test`, emailVerified: true, name: 'Mona', groups: ['ops'] },
    },
  });
  // Linking on: tests below link an existing account and sign in a disabled one; test/sso/account-link.test.ts covers it off.
  await addProvider('corp', { settings: { linkExistingAccounts: true } });
});
afterAll(async () => {
  await idp?.stop();
  await api?.close();
});

describe('OIDC sign-in against a real provider', () => {
  it('creates the user just in time with the mapped role; the one-time code works once; secrets are never returned', async () => {
    const done = await signIn('corp', 'alice');
    expect(done.sso).toEqual(expect.any(String));
    const tokens = await redeem(done.sso!);
    expect(tokens.user.email).toBe(`alice-${tag}@corp.test`);
    expect((await exchange(api, done.sso, browser)).status).toBe(400);

    const me = await client(api, tokens.accessToken).get('/api/v1/me');
    expect(me.body.teams).toEqual([expect.objectContaining({ slug: team.slug, role: 'operator' })]);
    expect(await em().count(UserIdentitySchema, { user: tokens.user.id, subject: 'alice' })).toBe(1);
    const audit = await em().findOneOrFail(AuditLogSchema, { action: 'auth.login', resourceId: tokens.user.id });
    expect(audit.data).toEqual({ method: `sso:${slug('corp')}` });

    const list = await client(api, adminToken).get('/api/v1/auth/providers');
    expect(JSON.stringify(list.body)).not.toContain(OIDC_CLIENT.clientSecret);
    expect(list.body.items.find((p: { slug: string }) => p.slug === slug('corp')).secretFields).toEqual(['clientSecret']);
    const open = await client(api).get('/api/v1/sso/providers');
    expect(open.body.providers).toContainEqual({ slug: slug('corp'), name: 'Corp corp', type: 'oidc', flow: 'redirect' });
  });

  it('a group change takes effect at the next refresh; leaving every mapped group, or being disabled at the provider, ends the session', async () => {
    idp.accounts.get('dave')!.groups = ['ops'];
    const tokens = await redeem((await signIn('corp', 'dave')).sso!);
    idp.accounts.get('dave')!.groups = ['ops', 'ops-leads'];
    const promoted = await client(api).post('/api/v1/auth/refresh', { refreshToken: tokens.refreshToken });
    expect(promoted.status).toBe(200);
    expect((await em().findOneOrFail(MembershipSchema, { user: tokens.user.id, team: team.id })).role).toBe('admin');

    idp.accounts.get('dave')!.groups = ['marketing'];
    const dropped = await client(api).post('/api/v1/auth/refresh', { refreshToken: promoted.body.refreshToken });
    expect(dropped.status).toBe(401);
    expect(dropped.body.detail).toMatch(/not in any group/);
    expect(await em().count(MembershipSchema, { user: tokens.user.id, team: team.id })).toBe(0);
    // Revoked, not just refused: the access token of the session stops working too.
    expect((await client(api, promoted.body.accessToken).get('/api/v1/me')).status).toBe(401);

    idp.accounts.get('dave')!.groups = ['ops'];
    const again = await redeem((await signIn('corp', 'dave')).sso!);
    idp.accounts.get('dave')!.disabled = true;
    expect((await client(api).post('/api/v1/auth/refresh', { refreshToken: again.refreshToken })).status).toBe(401);
    const family = await em().find(RefreshFamilySchema, { user: tokens.user.id, revokedReason: 'sso-recheck' });
    expect(family).toHaveLength(2);
  });

  it('links an existing account only through a verified email; an unverified one creates nothing', async () => {
    const local = await createUser(api.deps.db.em, { email: `carol-${tag}@corp.test` });
    const refused = await signIn('corp', 'carol');
    expect(refused.sso_error).toMatch(/has not verified your email/);
    expect(await em().count(UserIdentitySchema, { user: local.id })).toBe(0);

    const mine = await createUser(api.deps.db.em, { email: `alice2-${tag}@corp.test` });
    idp.accounts.set('alice2', { email: `Alice2-${tag}@corp.test`, emailVerified: true, name: 'A2', groups: ['ops'] });
    const linked = await redeem((await signIn('corp', 'alice2')).sso!);
    expect(linked.user.id).toBe(mine.id);
    expect(await em().count(AuditLogSchema, { action: 'auth.identity.link', resourceId: mine.id })).toBe(1);
  });

  it('refuses users outside the mapped groups and accounts disabled here, creating nothing', async () => {
    const outsider = await signIn('corp', 'erin');
    expect(outsider.sso_error).toMatch(/not in any group/);
    expect(await em().count(UserSchema, { email: `erin-${tag}@corp.test` })).toBe(0);

    const user = await createUser(api.deps.db.em, { email: `frank-${tag}@corp.test` });
    await em().nativeUpdate(UserSchema, { id: user.id }, { disabled: true });
    idp.accounts.set('frank', { email: `frank-${tag}@corp.test`, emailVerified: true, name: 'F', groups: ['ops'] });
    expect((await signIn('corp', 'frank')).sso_error).toMatch(/disabled/);
    expect(await em().count(UserIdentitySchema, { user: user.id })).toBe(0);
  });

  it('hands the session only to the browser that started the sign-in: a callback delivered to another browser (login CSRF) signs no one in', async () => {
    const attacker = new Browser();
    const victim = new Browser();
    // The attacker signs in at the provider as themselves and makes the victim's browser load the callback.
    const back = await throughProvider(`${api.baseUrl}/api/v1/sso/${slug('corp')}/start`, callbackOf('corp'), { login: 'alice', password: 'any' }, attacker);
    const planted = fragmentOf(await locationOf(back, victim));
    expect(planted.sso).toEqual(expect.any(String));
    const refused = await exchange(api, planted.sso, victim);
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ errors: [{ field: 'code' }] });
    expect(refused.body.accessToken).toBeUndefined();
    // Spent and revoked: the attacker cannot redeem it afterwards either.
    expect((await exchange(api, planted.sso, attacker)).status).toBe(400);
    const alice = await em().findOneOrFail(UserSchema, { email: `alice-${tag}@corp.test` });
    expect(await em().count(RefreshFamilySchema, { user: alice.id, revokedReason: 'sso-unbound' })).toBe(1);

    // Another sign-in's cookie is no better than none.
    const mine = await signIn('corp', 'alice', victim);
    const theirs = await signIn('corp', 'alice', attacker);
    expect((await exchange(api, theirs.sso, victim)).status).toBe(400);
    // The rightful browser's exchange works, and its cookie is then cleared.
    const ok = await exchange(api, mine.sso, victim);
    expect(ok.status).toBe(200);
    expect(ok.body.user.email).toBe(`alice-${tag}@corp.test`);
    expect(victim.cookie(api.baseUrl)).toBe('');
    expect((await client(api, ok.body.accessToken).get('/api/v1/me')).status).toBe(200);
  });

  it('a session from the provider may set up a second factor without a password for ten minutes after signing in, not later', async () => {
    const tokens = await redeem((await signIn('corp', 'mona')).sso!);
    const start = () => client(api, tokens.accessToken).post('/api/v1/me/mfa/totp', {});
    expect((await start()).status).toBe(200);
    // The sign-in was eleven minutes ago: a stolen access token alone no longer changes the factor.
    await em().getConnection().execute(`update refresh_families set created_at = now() - interval '11 minutes' where user_id = ?`, [tokens.user.id]);
    const stale = await start();
    expect([stale.status, stale.body.errors?.[0]?.field]).toEqual([403, 'currentPassword']);
  });

  it('sets the binding cookie HttpOnly, SameSite=Lax, for the SSO paths only, for the flow’s lifetime', async () => {
    const res = await fetch(`${api.baseUrl}/api/v1/sso/${slug('corp')}/start`, { redirect: 'manual' });
    const [cookie, ...more] = res.headers.getSetCookie();
    expect(more).toEqual([]);
    expect(cookie).toMatch(/^opssight_sso=[A-Za-z0-9_-]{43};/);
    expect(cookie).toMatch(/; path=\/api\/v1\/sso;/);
    expect(cookie).toMatch(/; samesite=lax/);
    expect(cookie).toMatch(/; httponly/);
    expect(cookie).not.toMatch(/; secure/);
    const expires = Date.parse(/expires=([^;]+)/.exec(cookie!)![1]!);
    expect(Math.abs(expires - Date.now() - 600_000)).toBeLessThan(5_000);
    // Redis keeps the hash, never the value a browser presents.
    const state = new URL(res.headers.get('location')!).searchParams.get('state');
    const flow = JSON.parse((await api.deps.redis.get(`${api.config.REDIS_PREFIX}sso:flow:${state}`))!) as { browser: string };
    const value = /^opssight_sso=([^;]+)/.exec(cookie!)![1]!;
    expect(flow.browser).toBe(createHash('sha256').update(value).digest('base64url'));
  });

  it('over https the cookie is __Host- prefixed (Secure, Path=/), so a sibling subdomain cannot plant one', async () => {
    const behindTls = await startApi({ ...ownRedisKeys(`sso-oidc-tls-${tag}`), PUBLIC_URL: 'https://opssight.example.test' });
    try {
      const res = await fetch(`${behindTls.baseUrl}/api/v1/sso/${slug('corp')}/start`, { redirect: 'manual' });
      const [cookie] = res.headers.getSetCookie();
      expect(cookie).toMatch(/^__Host-opssight_sso=[A-Za-z0-9_-]{43}; path=\/;/);
      expect(cookie).toMatch(/; secure/);
      expect(cookie).toMatch(/; httponly/);
    } finally {
      await behindTls.close();
    }
  });

  it('refuses a callback whose state is not a sign-in in progress, and an ID token whose nonce is not this sign-in’s', async () => {
    const back = await throughProvider(`${api.baseUrl}/api/v1/sso/${slug('corp')}/start`, callbackOf('corp'), { login: 'alice', password: 'any' });
    const forged = new URL(back);
    forged.searchParams.set('state', 'forged-state');
    expect(fragmentOf(await locationOf(forged)).sso_error).toMatch(/state mismatch/);
    // The real state still works once, and only once.
    expect(fragmentOf(await locationOf(back)).sso).toEqual(expect.any(String));
    expect(fragmentOf(await locationOf(back)).sso_error).toMatch(/state mismatch/);

    const next = await throughProvider(`${api.baseUrl}/api/v1/sso/${slug('corp')}/start`, callbackOf('corp'), { login: 'alice', password: 'any' });
    const key = `${api.config.REDIS_PREFIX}sso:flow:${next.searchParams.get('state')}`;
    const flow = JSON.parse((await api.deps.redis.get(key))!) as { nonce: string };
    await api.deps.redis.set(key, JSON.stringify({ ...flow, nonce: 'another-sign-in' }), 'EX', 60);
    expect(fragmentOf(await locationOf(next)).sso_error).toMatch(/nonce/);
  });
});

describe('the ID token itself', () => {
  const now = () => Math.floor(Date.now() / 1000);
  afterEach(() => {
    idp.idTokenClaims = null;
  });

  it('refuses an ID token issued for another client (aud), naming settings.clientId, and creates no one', async () => {
    for (const aud of ['another-client', ['another-client', 'a-third-one']]) {
      idp.idTokenClaims = (claims) => ({ ...claims, aud });
      const done = await signIn('corp', 'hank');
      expect(done.sso).toBeUndefined();
      expect(done.sso_error).toMatch(/another client.*settings\.clientId/);
    }
    expect(await em().count(UserSchema, { email: `hank-${tag}@corp.test` })).toBe(0);
    // The same person with a token for us signs in: the refusal was the audience, nothing else.
    idp.idTokenClaims = null;
    expect((await signIn('corp', 'hank')).sso).toEqual(expect.any(String));
  });

  it('tolerates the provider’s clock within clockToleranceSeconds (30 s) either way, and refuses it beyond', async () => {
    // Provider's clock 20 s ahead: issued "in the future"; 20 s behind: expired by 20 s. Both inside 30 s.
    const within = [() => ({ iat: now() + 20, exp: now() + 620 }), () => ({ iat: now() - 620, exp: now() - 20 })];
    for (const shift of within) {
      idp.idTokenClaims = (claims) => ({ ...claims, ...shift() });
      expect(await signIn('corp', 'ivy')).toEqual({ sso: expect.any(String) });
    }
    // 90 s ahead, 90 s behind: the clocks disagree more than we accept; the admin is told which setting.
    const beyond = [() => ({ iat: now() + 90, exp: now() + 690 }), () => ({ iat: now() - 690, exp: now() - 90 })];
    for (const shift of beyond) {
      idp.idTokenClaims = (claims) => ({ ...claims, ...shift() });
      const done = await signIn('corp', 'jack');
      expect(done.sso).toBeUndefined();
      expect(done.sso_error).toMatch(/clock.*settings\.clockToleranceSeconds/);
    }
    expect(await em().count(UserSchema, { email: `jack-${tag}@corp.test` })).toBe(0);
    expect(await em().count(UserSchema, { email: `ivy-${tag}@corp.test` })).toBe(1);
  });
});

describe('a misconfigured provider', () => {
  it('a wrong client secret is reported naming the setting, on the login page and in the log, and creates no user', async () => {
    await addProvider('secret', { secrets: { clientSecret: 'not-the-secret' } });
    idp.accounts.set('gina', { email: `gina-${tag}@corp.test`, emailVerified: true, name: 'G', groups: ['ops'] });
    const done = await signIn('secret', 'gina');
    expect(done.sso_error).toMatch(/secrets\.clientSecret/);
    expect(await em().count(UserSchema, { email: `gina-${tag}@corp.test` })).toBe(0);
  });

  it('an issuer that does not answer is reported naming settings.issuer, before leaving for the provider', async () => {
    await addProvider('issuer', { settings: { issuer: 'http://127.0.0.1:9/nowhere' } });
    const where = await locationOf(`${api.baseUrl}/api/v1/sso/${slug('issuer')}/start`);
    expect(where.origin).toBe(api.baseUrl);
    expect(fragmentOf(where).sso_error).toMatch(/settings\.issuer/);
  });
});
