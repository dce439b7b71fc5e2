import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AuditLogSchema, MembershipSchema } from '../../db/entities/index.ts';
import { client, tokenFor } from '../fixtures/http.ts';
import { holdingMemberships } from '../fixtures/locks.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { OIDC_CLIENT, startOidcProvider, type OidcPeer } from '../peers/oidc-provider.ts';
import { ownRedisKeys, startApi, type TestApi } from '../peers/stack.ts';
import { Browser, exchange, fragmentOf, locationOf, throughProvider } from './redirects.ts';

// A group change at the IdP must not leave a team without an admin (the rule test/api/last-admin.test.ts
// checks for the members API): the last admin keeps the role, the conflict is audited and shown on the
// provider until another member is admin; then the mapping applies.
let api: TestApi;
let idp: OidcPeer;
let adminToken: string;
let providerId: string;
const tag = crypto.randomUUID().slice(0, 6);
const slug = `lastadm-${tag}`;
const callback = () => `${api.baseUrl}/api/v1/sso/${slug}/callback`;
const em = () => api.deps.db.em.fork();
const roleIn = async (teamId: string, userId: string) => (await em().findOne(MembershipSchema, { team: teamId, user: userId }))?.role ?? null;

async function signIn(login: string) {
  const browser = new Browser();
  const back = await throughProvider(`${api.baseUrl}/api/v1/sso/${slug}/start`, callback(), { login, password: 'any' }, browser);
  const done = fragmentOf(back.hash ? back : await locationOf(back, browser));
  expect(done).toEqual({ sso: expect.any(String) });
  const res = await exchange(api, done.sso, browser);
  return res.body as { accessToken: string; refreshToken: string; user: { id: string; email: string } };
}
const warnings = async () => (await client(api, adminToken).get(`/api/v1/auth/providers/${providerId}`)).body.warnings as { team: string; userId: string; mappedRole: string | null; message: string }[];
const kept = (teamId: string) => em().find(AuditLogSchema, { action: 'team.member.last_admin_kept', teamId });

beforeAll(async () => {
  api = await startApi(ownRedisKeys(`sso-last-admin-${tag}`));
  adminToken = await tokenFor(api, (await createUser(api.deps.db.em, { role: 'platform-admin' })).id);
  idp = await startOidcProvider({
    redirectUris: [`${api.baseUrl}/api/v1/sso/${slug}/callback`],
    accounts: {
      lena: { email: `lena-${tag}@corp.test`, emailVerified: true, name: 'Lena', groups: ['ops-leads'] },
      mo: { email: `mo-${tag}@corp.test`, emailVerified: true, name: 'Mo', groups: ['ops-leads'] },
      olga: { email: `olga-${tag}@corp.test`, emailVerified: true, name: 'Olga', groups: ['ops-leads'] },
    },
  });
});
afterAll(async () => {
  await idp?.stop();
  await api?.close();
});

async function provider(teamSlug: string) {
  const res = await client(api, adminToken).post('/api/v1/auth/providers', {
    slug, name: 'Corp', type: 'oidc',
    settings: { issuer: idp.issuer, clientId: OIDC_CLIENT.clientId, scopes: ['openid', 'email', 'profile', 'groups'], requireGroup: true },
    secrets: { clientSecret: OIDC_CLIENT.clientSecret },
    mappings: [{ group: 'ops', team: teamSlug, role: 'operator' }, { group: 'ops-leads', team: teamSlug, role: 'admin' }],
  });
  expect(res.status).toBe(201);
  providerId = res.body.id;
}

describe('SSO mapping and a team’s last admin', () => {
  it('keeps the last admin when the IdP demotes or drops them, audits it once a day, warns on the provider, and applies the mapping once another admin exists', async () => {
    const team = await createTeam(api.deps.db.em, `lastadm-${tag}`);
    await provider(team.slug);
    const lena = await signIn('lena');
    expect(await roleIn(team.id, lena.user.id)).toBe('admin');
    expect(await warnings()).toEqual([]);

    // Demoted at the IdP: the refresh goes through, the seat stays, the conflict is recorded.
    idp.accounts.get('lena')!.groups = ['ops'];
    const refreshed = await client(api).post('/api/v1/auth/refresh', { refreshToken: lena.refreshToken });
    expect(refreshed.status).toBe(200);
    expect(await roleIn(team.id, lena.user.id)).toBe('admin');
    const rows = await kept(team.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.data).toEqual({ provider: slug, userId: lena.user.id, role: 'admin', mappedRole: 'operator' });
    expect(rows[0]!.resourceId).toBe(`${team.id}:${lena.user.id}`);
    expect(await warnings()).toEqual([expect.objectContaining({ team: team.slug, userId: lena.user.id, mappedRole: 'operator', message: expect.stringMatching(/only admin of team/) })]);
    // Team admins see it in their team's audit log.
    const audit = await client(api, refreshed.body.accessToken).get(`/api/v1/audit?teamId=${team.id}&action=team.member.last_admin_kept`);
    expect(audit.status).toBe(200);
    expect(audit.body.items).toHaveLength(1);

    // Each further refresh keeps the seat without another audit row (refreshes come every 15 minutes).
    const again = await client(api).post('/api/v1/auth/refresh', { refreshToken: refreshed.body.refreshToken });
    expect(again.status).toBe(200);
    expect(await kept(team.id)).toHaveLength(1);

    // Dropped from every mapped group: with requireGroup the session ends, but the team keeps its admin.
    idp.accounts.get('lena')!.groups = ['marketing'];
    await em().nativeDelete(AuditLogSchema, { action: 'team.member.last_admin_kept', teamId: team.id });
    expect((await client(api).post('/api/v1/auth/refresh', { refreshToken: again.body.refreshToken })).status).toBe(401);
    expect(await roleIn(team.id, lena.user.id)).toBe('admin');
    expect((await kept(team.id)).map((r) => r.data?.mappedRole)).toEqual([null]);
    expect((await warnings())[0]).toMatchObject({ mappedRole: null, message: expect.stringMatching(/remove them/) });

    // Another admin (through the IdP here; the members API would do the same): the warning goes, and
    // the next sign-in applies the mapping.
    const mo = await signIn('mo');
    expect(await roleIn(team.id, mo.user.id)).toBe('admin');
    expect(await warnings()).toEqual([]);
    idp.accounts.get('lena')!.groups = ['ops'];
    await signIn('lena');
    expect(await roleIn(team.id, lena.user.id)).toBe('operator');
    expect(await em().count(AuditLogSchema, { action: 'team.member.update', resourceId: `${team.id}:${lena.user.id}` })).toBe(1);
  });

  it('holds when the last two admins are demoted at the IdP and refresh at the same moment: one stays admin', async () => {
    const team = await createTeam(api.deps.db.em, `lastadm2-${tag}`);
    await client(api, adminToken).patch(`/api/v1/auth/providers/${providerId}`, {
      mappings: [{ group: 'ops', team: team.slug, role: 'operator' }, { group: 'ops-leads', team: team.slug, role: 'admin' }],
    });
    idp.accounts.get('mo')!.groups = ['ops-leads'];
    const sessions = [await signIn('mo'), await signIn('olga')];
    for (const s of sessions) expect(await roleIn(team.id, s.user.id)).toBe('admin');
    idp.accounts.get('mo')!.groups = ['ops'];
    idp.accounts.get('olga')!.groups = ['ops'];
    // Both refreshes wait on the team's membership lock, each past what it read without it.
    const refreshes = await holdingMemberships(em, team.id, 2, () => sessions.map((s) => client(api).post('/api/v1/auth/refresh', { refreshToken: s.refreshToken })));
    expect((await Promise.all(refreshes)).map((r) => r.status)).toEqual([200, 200]);
    const roles = await Promise.all(sessions.map((s) => roleIn(team.id, s.user.id)));
    expect(roles.sort()).toEqual(['admin', 'operator']);
    expect(await kept(team.id)).toHaveLength(1);
  });
});
