import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MembershipSchema, UserSchema } from '../../db/entities/index.ts';
import { client, tokenFor } from '../fixtures/http.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { GITHUB_APP, startGithubOAuth, type GithubPeer } from '../peers/github-oauth.ts';
import { ownRedisKeys, startApi, type TestApi } from '../peers/stack.ts';
import { Browser, exchange, fragmentOf, locationOf } from './redirects.ts';

let api: TestApi;
let gh: GithubPeer;
let adminToken: string;
let team: { id: string; slug: string };
const tag = crypto.randomUUID().slice(0, 6);
const slug = (s: string) => `${s}-${tag}`;
const em = () => api.deps.db.em.fork();
/** The signing-in person's browser, unless a test plays another one. */
const browser = new Browser();

async function addProvider(name: string, secret = GITHUB_APP.clientSecret) {
  const res = await client(api, adminToken).post('/api/v1/auth/providers', {
    slug: slug(name),
    name: 'GitHub',
    type: 'github',
    settings: { clientId: GITHUB_APP.clientId, webUrl: gh.origin, apiUrl: gh.origin, requireGroup: true },
    secrets: { clientSecret: secret },
    mappings: [
      { group: 'acme', team: team.slug, role: 'viewer' },
      { group: 'acme/sre', team: team.slug, role: 'approver' },
    ],
  });
  expect(res.status).toBe(201);
}

/** Our start → GitHub's authorize (approved by the signed-in user) → our callback → the dashboard. */
async function signIn(provider: string, from = browser, to = from): Promise<Record<string, string>> {
  const authorize = await locationOf(`${api.baseUrl}/api/v1/sso/${slug(provider)}/start`, from);
  expect(authorize.origin).toBe(gh.origin);
  expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
  // `to` is the browser that loads our callback: another one when a test plays login CSRF.
  return fragmentOf(await locationOf(await locationOf(authorize, from), to));
}

beforeAll(async () => {
  [api, gh] = await Promise.all([
    startApi(ownRedisKeys(`sso-gh-${tag}`)),
    startGithubOAuth([
      { id: 101, login: 'octo', name: 'Octo Cat', emails: [{ email: `old-${tag}@x.test`, primary: false, verified: true }, { email: `octo-${tag}@acme.test`, primary: true, verified: true }], orgs: ['acme'], teams: [{ org: 'acme', slug: 'sre' }] },
      { id: 102, login: 'sneaky', name: 'S', emails: [{ email: `victim-${tag}@acme.test`, primary: true, verified: false }], orgs: ['acme'], teams: [] },
    ]),
  ]);
  team = await createTeam(api.deps.db.em, `gh-${tag}`);
  const admin = await createUser(api.deps.db.em, { role: 'platform-admin' });
  adminToken = await tokenFor(api, admin.id);
  await addProvider('gh');
});
afterAll(async () => {
  await api?.close();
  await gh?.stop();
});

describe('GitHub OAuth sign-in', () => {
  it('signs in with the verified primary email; org/team memberships map to a role; a revoked token ends the session at refresh', async () => {
    gh.signInAs(101);
    const done = await signIn('gh');
    const tokens = (await exchange(api, done.sso, browser)).body;
    expect(tokens.user.email).toBe(`octo-${tag}@acme.test`);
    expect((await em().findOneOrFail(MembershipSchema, { user: tokens.user.id, team: team.id })).role).toBe('approver');

    gh.users.get(101)!.teams = [];
    const next = await client(api).post('/api/v1/auth/refresh', { refreshToken: tokens.refreshToken });
    expect(next.status).toBe(200);
    expect((await em().findOneOrFail(MembershipSchema, { user: tokens.user.id, team: team.id })).role).toBe('viewer');

    gh.revokeTokensOf(101);
    expect((await client(api).post('/api/v1/auth/refresh', { refreshToken: next.body.refreshToken })).status).toBe(401);
  });

  it('a callback an attacker got for their own account, loaded in another browser, signs no one in', async () => {
    gh.signInAs(101);
    const victim = new Browser();
    const planted = await signIn('gh', new Browser(), victim);
    expect(planted.sso).toEqual(expect.any(String));
    const refused = await exchange(api, planted.sso, victim);
    expect(refused.status).toBe(400);
    expect(refused.body.accessToken).toBeUndefined();
    expect((await exchange(api, (await signIn('gh', victim)).sso, victim)).status).toBe(200);
  });

  it('an unverified primary email neither links to the account holding it nor creates one', async () => {
    const victim = await createUser(api.deps.db.em, { email: `victim-${tag}@acme.test` });
    gh.signInAs(102);
    expect((await signIn('gh')).sso_error).toMatch(/not verified/);
    expect(await em().count(UserSchema, { email: `victim-${tag}@acme.test` })).toBe(1);
    expect((await client(api).post('/api/v1/auth/login', { email: victim.email, password: victim.password })).status).toBe(200);
  });

  it('a wrong client secret is reported naming secrets.clientSecret', async () => {
    await addProvider('ghbad', 'wrong');
    gh.signInAs(101);
    expect((await signIn('ghbad')).sso_error).toMatch(/secrets\.clientSecret/);
  });
});
