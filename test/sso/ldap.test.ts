import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AuditLogSchema, MembershipSchema, UserIdentitySchema, UserSchema } from '../../db/entities/index.ts';
import { client, tokenFor } from '../fixtures/http.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { startLdap, type LdapPeer } from '../peers/ldap.ts';
import { ownRedisKeys, startApi, type TestApi } from '../peers/stack.ts';

let api: TestApi;
let ldap: LdapPeer;
let adminToken: string;
let team: { id: string; slug: string };
const tag = crypto.randomUUID().slice(0, 6);
const slug = (s: string) => `${s}-${tag}`;
const em = () => api.deps.db.em.fork();
const mail = (uid: string) => `${uid}-${tag}@dir.test`;

async function addProvider(name: string, overrides: { settings?: Record<string, unknown>; secrets?: Record<string, string> } = {}) {
  const res = await client(api, adminToken).post('/api/v1/auth/providers', {
    slug: slug(name),
    name: `Directory ${name}`,
    type: 'ldap',
    settings: { url: ldap.url, bindDn: ldap.serviceDn, userBase: `ou=people,${ldap.suffix}`, groupBase: `ou=groups,${ldap.suffix}`, requireGroup: true, ...overrides.settings },
    secrets: { bindPassword: ldap.servicePassword, ...overrides.secrets },
    // `platform` holds no users, only the group `ops`: membership through nesting.
    mappings: [
      { group: 'platform', team: team.slug, role: 'operator' },
      { group: `cn=leads,ou=groups,${ldap.suffix}`, team: team.slug, role: 'admin' },
    ],
  });
  expect(res.status).toBe(201);
}
const login = (provider: string, username: string, password: string) => client(api).post(`/api/v1/sso/${slug(provider)}/login`, { username, password });

beforeAll(async () => {
  [api, ldap] = await Promise.all([
    startApi(ownRedisKeys(`sso-ldap-${tag}`)),
    // memberOf on the users' entries, as AD and most OpenLDAP setups have it: it lists groups wherever they live.
    startLdap(
      ['alice', 'bob', 'carol', 'dave', 'erin', 'gwen', 'hana', 'ivan', 'jo'].map((uid) => ({ uid, password: `${uid}-password`, mail: mail(uid), cn: uid.toUpperCase() })),
      { ops: ['alice', 'dave'], platform: ['ops'], leads: ['carol', 'gwen', 'hana', 'ivan', 'jo'], marketing: ['bob', 'erin'] },
      { memberOf: true },
    ),
  ]);
  team = await createTeam(api.deps.db.em, `ldap-${tag}`);
  const admin = await createUser(api.deps.db.em, { role: 'platform-admin' });
  adminToken = await tokenFor(api, admin.id);
  await addProvider('dir');
});
afterAll(async () => {
  await api?.close();
  await ldap?.stop();
});

describe('LDAP sign-in against slapd', () => {
  it('binds as the user and maps nested groups to a team role; the user is created just in time', async () => {
    const res = await login('dir', 'alice', 'alice-password');
    expect(res.status).toBe(200);
    expect(res.body.user.email).toBe(mail('alice'));
    const me = await client(api, res.body.accessToken as string).get('/api/v1/me');
    expect(me.body.teams).toEqual([expect.objectContaining({ slug: team.slug, role: 'operator' })]);
    expect(await em().findOneOrFail(UserIdentitySchema, { user: res.body.user.id })).toMatchObject({ subject: ldap.userDn('alice') });
    // The email works too (the default filter), a DN rule matches like a name rule.
    const carol = await login('dir', mail('carol'), 'carol-password');
    expect(carol.status).toBe(200);
    expect((await em().findOneOrFail(MembershipSchema, { user: carol.body.user.id, team: team.id })).role).toBe('admin');
  });

  it('refuses a wrong password, an unknown user and a filter injection alike, and creates nobody', async () => {
    for (const [u, p] of [['alice', 'wrong'], ['nobody', 'x'], ['*', 'alice-password'], ['alice)(uid=*', 'alice-password']] as const) {
      const res = await login('dir', u, p);
      expect(res.status).toBe(401);
      expect(res.body.detail).toBe('invalid username or password');
    }
    // An empty password would be an anonymous bind, which "succeeds": refused before the directory is asked.
    expect((await login('dir', 'alice', '')).status).toBe(400);
    const outsider = await login('dir', 'bob', 'bob-password');
    expect(outsider.status).toBe(401);
    expect(await em().count(UserSchema, { email: mail('bob') })).toBe(0);
  });

  it('a user removed from the mapped group, or from the directory, loses access at the next refresh', async () => {
    const dave = await login('dir', 'dave', 'dave-password');
    expect(dave.status).toBe(200);
    await ldap.setMembers('ops', ['alice']);
    const refused = await client(api).post('/api/v1/auth/refresh', { refreshToken: dave.body.refreshToken });
    expect(refused.status).toBe(401);
    expect(await em().count(MembershipSchema, { user: dave.body.user.id, team: team.id })).toBe(0);

    const alice = await login('dir', 'alice', 'alice-password');
    const kept = await client(api).post('/api/v1/auth/refresh', { refreshToken: alice.body.refreshToken });
    expect(kept.status).toBe(200);
    await ldap.removeUser('alice');
    expect((await client(api).post('/api/v1/auth/refresh', { refreshToken: kept.body.refreshToken })).status).toBe(401);
  });
});

describe('a misconfigured directory', () => {
  it('a wrong service password or an unreachable URL answers 502 naming the setting, and creates nobody', async () => {
    await addProvider('badbind', { secrets: { bindPassword: 'nope' } });
    const bind = await login('badbind', 'carol', 'carol-password');
    expect(bind.status).toBe(502);
    expect(bind.body).toMatchObject({ setting: 'secrets.bindPassword' });
    expect(bind.body.detail).not.toContain('nope');

    await addProvider('badurl', { settings: { url: 'ldap://127.0.0.1:9' } });
    const url = await login('badurl', 'carol', 'carol-password');
    expect(url.status).toBe(502);
    expect(url.body).toMatchObject({ setting: 'settings.url' });
    expect(await em().count(UserIdentitySchema, { email: mail('carol'), provider: { slug: { $in: [slug('badbind'), slug('badurl')] } } })).toBe(0);
  });
});

describe('where a group lives', () => {
  it('a group named like a mapped one outside groupBase maps nothing, even through memberOf', async () => {
    // `platform` is mapped by its cn; this one sits in another subtree, which its creator may write to.
    const elsewhere = await ldap.addGroupUnder('projects', 'platform', ['erin']);
    await addProvider('open', { settings: { requireGroup: false } });
    const refused = await login('dir', 'erin', 'erin-password');
    expect(refused.status).toBe(401);
    expect(refused.body.detail).toMatch(/not in any group/);
    const open = await login('open', 'erin', 'erin-password');
    expect(open.status).toBe(200);
    expect(await em().count(MembershipSchema, { user: open.body.user.id })).toBe(0);
    expect(elsewhere).toBe(`cn=platform,ou=projects,${ldap.suffix}`);
  });

  it('groupBase is compared without regard to case or spaces after commas', async () => {
    await addProvider('spaced', { settings: { groupBase: `OU=Groups, ${ldap.suffix.replace(',', ', ').toUpperCase()}` } });
    const gwen = await login('spaced', 'gwen', 'gwen-password');
    expect(gwen.status).toBe(200);
    expect((await em().findOneOrFail(MembershipSchema, { user: gwen.body.user.id, team: team.id })).role).toBe('admin');
  });
});

describe('without a groupBase', () => {
  it('a rule must name its group by DN (a bare name could be any group anywhere), and memberOf groups count by DN', async () => {
    const create = (name: string, group: string) =>
      client(api, adminToken).post('/api/v1/auth/providers', {
        slug: slug(name),
        name: `Directory ${name}`,
        type: 'ldap',
        settings: { url: ldap.url, bindDn: ldap.serviceDn, userBase: `ou=people,${ldap.suffix}`, requireGroup: true },
        secrets: { bindPassword: ldap.servicePassword },
        mappings: [{ group, team: team.slug, role: 'operator' }],
      });
    const bare = await create('nobase', 'leads');
    expect([bare.status, bare.body.errors?.map((e: { field: string }) => e.field)]).toEqual([400, ['mappings.0.group']]);
    expect((await create('nobase', `cn=leads,ou=groups,${ldap.suffix}`)).status).toBe(201);
    // The rule cannot be loosened later either.
    const provider = (await client(api, adminToken).get('/api/v1/auth/providers')).body.items.find((p: { slug: string }) => p.slug === slug('nobase'));
    const loosened = await client(api, adminToken).patch(`/api/v1/auth/providers/${provider.id}`, { mappings: [{ group: 'leads', team: team.slug, role: 'operator' }] });
    expect([loosened.status, loosened.body.errors?.[0]?.field]).toEqual([400, 'mappings.0.group']);

    const jo = await login('nobase', 'jo', 'jo-password');
    expect([jo.status, jo.body.detail]).toEqual([200, undefined]);
    expect((await em().findOneOrFail(MembershipSchema, { user: jo.body.user.id, team: team.id })).role).toBe('operator');
  });
});

describe('a first sign-in with the email of an existing account', () => {
  it('is refused unless the provider links existing accounts: no identity, no membership change', async () => {
    const local = await createUser(api.deps.db.em, { email: mail('hana'), teams: [team], role: 'viewer' });
    const refused = await login('dir', 'hana', 'hana-password');
    expect(refused.status).toBe(401);
    expect(refused.body.detail).toBe(`an OpsSight account already uses ${mail('hana')} and is not linked to Directory dir; ask a platform admin, who can turn on linking for Directory dir or rename the existing account`);
    expect(await em().count(UserIdentitySchema, { user: local.id })).toBe(0);
    expect(await em().count(AuditLogSchema, { action: 'auth.identity.link', resourceId: local.id })).toBe(0);
    expect((await em().findOneOrFail(MembershipSchema, { user: local.id, team: team.id })).role).toBe('viewer');
  });

  it('links to it when the provider links existing accounts, audited', async () => {
    const local = await createUser(api.deps.db.em, { email: mail('ivan'), teams: [team], role: 'viewer' });
    await addProvider('linking', { settings: { linkExistingAccounts: true } });
    const linked = await login('linking', 'ivan', 'ivan-password');
    expect(linked.status).toBe(200);
    expect(linked.body.user.id).toBe(local.id);
    expect(await em().findOneOrFail(UserIdentitySchema, { user: local.id })).toMatchObject({ subject: ldap.userDn('ivan') });
    expect(await em().count(AuditLogSchema, { action: 'auth.identity.link', resourceId: local.id })).toBe(1);
    expect((await em().findOneOrFail(MembershipSchema, { user: local.id, team: team.id })).role).toBe('admin');
  });
});
