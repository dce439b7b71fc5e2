import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { client, tokenFor } from '../fixtures/http.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { startLdap, type LdapPeer } from '../peers/ldap.ts';
import { OIDC_CLIENT, startOidcProvider, type OidcPeer } from '../peers/oidc-provider.ts';
import { ownRedisKeys, startApi, type TestApi } from '../peers/stack.ts';
import { inOwnBrowser, signIn } from './browser.ts';

// Single sign-on as a person meets it (issue 14): headless Chromium on the login page, through the OIDC
// provider's own login and consent pages, and with a directory account. Needs the built dashboard.
const dist = path.resolve('web/dist/index.html');
const tag = crypto.randomUUID().slice(0, 6);

let api: TestApi;
let idp: OidcPeer;
let ldap: LdapPeer;
let team: { id: string; slug: string };
let admin: Awaited<ReturnType<typeof createUser>>;
let adminToken: string;

beforeAll(async () => {
  if (!fs.existsSync(dist)) throw new Error('web/dist is missing: run `npm run build:web` first');
  [api, ldap] = await Promise.all([
    startApi(ownRedisKeys(`ui-sso-${tag}`)),
    startLdap([{ uid: 'lena', password: 'lena-password', mail: `lena-${tag}@dir.test`, cn: 'Lena' }], { ops: ['lena'] }),
  ]);
  idp = await startOidcProvider({
    redirectUris: [`${api.baseUrl}/api/v1/sso/corp-${tag}/callback`],
    accounts: { olga: { email: `olga-${tag}@corp.test`, emailVerified: true, name: 'Olga', groups: ['ops'] } },
  });
  team = await createTeam(api.deps.db.em, `ui-sso-${tag}`);
  admin = await createUser(api.deps.db.em, { role: 'platform-admin' });
  const token = (adminToken = await tokenFor(api, admin.id));
  const mappings = [{ group: 'ops', team: team.slug, role: 'operator' }];
  for (const body of [
    { slug: `corp-${tag}`, name: `Corp ${tag}`, type: 'oidc', settings: { issuer: idp.issuer, clientId: OIDC_CLIENT.clientId, scopes: ['openid', 'email', 'profile', 'groups'] }, secrets: { clientSecret: OIDC_CLIENT.clientSecret }, mappings },
    { slug: `dir-${tag}`, name: `Directory ${tag}`, type: 'ldap', settings: { url: ldap.url, bindDn: ldap.serviceDn, userBase: `ou=people,${ldap.suffix}`, groupBase: `ou=groups,${ldap.suffix}` }, secrets: { bindPassword: ldap.servicePassword }, mappings },
  ]) {
    expect((await client(api, token).post('/api/v1/auth/providers', body)).status).toBe(201);
  }
});
afterAll(async () => {
  await idp?.stop();
  await api?.close();
  await ldap?.stop();
});

describe('single sign-on in the browser', () => {
  it('signs in through the OIDC provider’s own login and consent pages and lands on the dashboard', async () => {
    await inOwnBrowser(async (page) => {
      // oidc-provider's pages @import a web font from Google: offline, the page's load would wait on it.
      await page.route((u) => u.hostname !== '127.0.0.1', (r) => r.abort());
      await page.goto(`${api.baseUrl}/`);
      await page.getByRole('link', { name: `Sign in with Corp ${tag}` }).click();
      // oidc-provider's login page, on its own origin.
      await page.waitForURL((u) => u.origin === idp.issuer);
      await page.locator('input[name="login"]').fill('olga');
      await page.locator('input[name="password"]').fill('anything');
      await page.getByRole('button', { name: 'Sign-in' }).click();
      await page.getByRole('button', { name: /continue/i }).click();
      await page.getByRole('heading', { name: 'Runs' }).waitFor();
      expect(new URL(page.url()).hash).toBe('');
      const stored = await page.evaluate(() => JSON.parse(localStorage.getItem('opssight.session') ?? 'null') as { user: { email: string } } | null);
      expect(stored?.user.email).toBe(`olga-${tag}@corp.test`);
    });
  });

  it('signs in with a directory account chosen under “Sign in with”, and shows a wrong password as such', async () => {
    await inOwnBrowser(async (page) => {
      await page.goto(`${api.baseUrl}/`);
      await page.getByLabel('Sign in with').selectOption({ label: `Directory ${tag}` });
      await page.getByLabel('Username').fill('lena');
      await page.getByLabel('Password').fill('wrong');
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await expect(page.getByRole('alert').textContent()).resolves.toMatch(/invalid username or password/);
      await page.getByLabel('Password').fill('lena-password');
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page.getByRole('heading', { name: 'Runs' }).waitFor();
    });
  });

  it('shows a platform admin the mapping it held back because it would leave a team without its only admin', async () => {
    // Lena (an operator through the directory's "ops" group) becomes the team's only admin by hand; her
    // next directory sign-in would make her operator again, and the platform keeps her admin instead.
    const login = (password: string) => client(api).post(`/api/v1/sso/dir-${tag}/login`, { username: 'lena', password });
    expect((await login('lena-password')).status).toBe(200);
    expect((await client(api, adminToken).put(`/api/v1/teams/${team.slug}/members`, { email: `lena-${tag}@dir.test`, role: 'admin' })).status).toBe(200);
    expect((await login('lena-password')).status).toBe(200);
    await inOwnBrowser(async (page) => {
      await signIn(page, api.baseUrl, admin);
      await page.goto(`${api.baseUrl}/admin/sign-in`);
      const notice = page.getByRole('alert').filter({ hasText: `Directory ${tag}: mappings held back` });
      await expect(notice.textContent()).resolves.toContain(`lena-${tag}@dir.test is the only admin of team ${team.slug}; the mapping would make them operator`);
    });
  });
});
