import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { INTEGRATION_TYPES } from '../../contracts/integrations/index.ts';
import { loadIntegrationSecret } from '../../core/integrations/store.ts';
import { AuditLogSchema, IntegrationSchema } from '../../db/entities/index.ts';
import { UnknownIntegrationError, recordRunIntegrations } from '../../db/repositories/integrations.ts';
import { insertRun, updateRunState } from '../../db/repositories/runs.ts';
import { client, tokenFor } from '../fixtures/http.ts';
import { knownHostsLine, testKeys } from '../fixtures/integrations.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { startApi, type TestApi } from '../peers/stack.ts';

let api: TestApi;
let team: { id: string; slug: string };
let other: { id: string; slug: string };
let adminId: string;
const as: Record<'admin' | 'operator' | 'viewer' | 'outsider', ReturnType<typeof client>> = {} as never;
const keys = testKeys();
const em = () => api.deps.db.em.fork();
const tag = () => crypto.randomUUID().slice(0, 8);

beforeAll(async () => {
  api = await startApi();
  [team, other] = await Promise.all([createTeam(api.deps.db.em), createTeam(api.deps.db.em)]);
  adminId = (await createUser(api.deps.db.em, { teams: [team], role: 'admin' })).id;
  as.admin = client(api, await tokenFor(api, adminId));
  for (const role of ['operator', 'viewer'] as const) as[role] = client(api, await tokenFor(api, (await createUser(api.deps.db.em, { teams: [team], role })).id));
  as.outsider = client(api, await tokenFor(api, (await createUser(api.deps.db.em, { teams: [other], role: 'admin' })).id));
});
afterAll(() => api.close());

const sshBody = (name = `web-${tag()}`) => ({
  team: team.slug,
  type: 'ssh',
  name,
  settings: { user: 'deploy', hostKeys: [knownHostsLine(keys.hostKey.publicKey)] },
  secrets: { privateKey: keys.encrypted.privateKey, passphrase: keys.encrypted.passphrase },
});

describe('/api/v1/integrations', () => {
  it('an admin creates one; the response shows metadata and the key’s fingerprint, never the secrets; audited', async () => {
    const res = await as.admin.post('/api/v1/integrations', sshBody());
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`/api/v1/integrations/${res.body.id}`);
    expect(res.body).toEqual({
      id: expect.any(String),
      team: team.slug,
      type: 'ssh',
      name: expect.stringMatching(/^web-/),
      settings: { user: 'deploy', hostKeys: [knownHostsLine(keys.hostKey.publicKey)] },
      secretFields: ['passphrase', 'privateKey'],
      fingerprint: keys.encrypted.fingerprint,
      publicKey: keys.encrypted.publicKey.split(' ').slice(0, 2).join(' '),
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    const audit = await em().findOneOrFail(AuditLogSchema, { action: 'integration.create', resourceId: res.body.id });
    expect(audit).toMatchObject({ actorId: adminId, teamId: team.id, data: { type: 'ssh', fingerprint: keys.encrypted.fingerprint } });

    // At rest: an envelope under the configured key, not the key text.
    const row = await em().findOneOrFail(IntegrationSchema, { id: res.body.id }, { populate: ['secret'] });
    expect(row.keyId).toBe(api.deps.keyring.currentKeyId);
    expect(row.secret).not.toContain('PRIVATE KEY');
    const loaded = await loadIntegrationSecret(em(), api.deps.keyring, { teamId: team.id, integrationId: res.body.id, type: 'ssh' });
    expect(loaded.secrets).toEqual({ privateKey: keys.encrypted.privateKey, passphrase: keys.encrypted.passphrase });
  });

  it('members who can read runs list and get them; only integrations:manage changes them; other teams see nothing', async () => {
    const created = (await as.admin.post('/api/v1/integrations', sshBody())).body;
    for (const who of ['operator', 'viewer'] as const) {
      expect((await as[who].get(`/api/v1/integrations/${created.id}`)).body.fingerprint).toBe(keys.encrypted.fingerprint);
      const list = await as[who].get(`/api/v1/integrations?team=${team.slug}&type=ssh&limit=200`);
      expect(list.body.items.map((i: { id: string }) => i.id)).toContain(created.id);
      expect((await as[who].post('/api/v1/integrations', sshBody())).status).toBe(403);
      expect((await as[who].del(`/api/v1/integrations/${created.id}`)).status).toBe(403);
    }
    expect((await as.outsider.get(`/api/v1/integrations/${created.id}`)).status).toBe(404);
    expect((await as.outsider.get(`/api/v1/integrations?team=${team.slug}`)).body.items).toEqual([]);
    expect((await as.outsider.post('/api/v1/integrations', sshBody())).status).toBe(404);
    expect((await as.outsider.del(`/api/v1/integrations/${created.id}`)).status).toBe(404);
    // Another team's id cannot be used by a run of this team either.
    const runId = await activeRun(other.id);
    await expect(recordRunIntegrations(em(), runId, [created.id, 'not-a-uuid'])).rejects.toEqual(new UnknownIntegrationError([created.id, 'not-a-uuid']));
  });

  it('pages by name with a cursor', async () => {
    const pager = await createTeam(api.deps.db.em);
    const names = ['a', 'b', 'c'].map((n) => `${n}-${tag()}`);
    // A platform admin manages every team's integrations; this team's own admin is not a member there.
    expect((await as.admin.post('/api/v1/integrations', { ...sshBody(), team: pager.slug })).status).toBe(404);
    const platform = client(api, await tokenFor(api, (await createUser(api.deps.db.em, { role: 'platform-admin' })).id));
    for (const name of names) expect((await platform.post('/api/v1/integrations', { ...sshBody(name), team: pager.slug })).status).toBe(201);
    const first = await platform.get(`/api/v1/integrations?team=${pager.slug}&limit=2`);
    expect(first.body.items.map((i: { name: string }) => i.name)).toEqual(names.slice(0, 2));
    const second = await platform.get(`/api/v1/integrations?team=${pager.slug}&limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body).toEqual({ items: [expect.objectContaining({ name: names[2] })], nextCursor: null });
    expect((await platform.get('/api/v1/integrations?cursor=nonsense')).body.errors).toEqual([{ field: 'cursor', message: 'not a cursor this API issued' }]);
  });

  it('a second one of the same name in the team is 409 on the name', async () => {
    const name = `dup-${tag()}`;
    expect((await as.admin.post('/api/v1/integrations', sshBody(name))).status).toBe(201);
    const dup = await as.admin.post('/api/v1/integrations', sshBody(name));
    expect(dup.status).toBe(409);
    expect(dup.body.errors).toEqual([{ field: 'name', message: 'already taken' }]);
    expect(await em().count(IntegrationSchema, { name })).toBe(1);
  });

  it('updates keep the stored secrets unless new ones are given; a new key changes the fingerprint', async () => {
    const created = (await as.admin.post('/api/v1/integrations', sshBody())).body;
    const renamed = await patch(created.id, { name: `renamed-${tag()}`, settings: { user: 'ops', hostKeys: [keys.hostKey.fingerprint] } });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ settings: { user: 'ops', hostKeys: [keys.hostKey.fingerprint] }, fingerprint: keys.encrypted.fingerprint });
    const kept = await loadIntegrationSecret(em(), api.deps.keyring, { teamId: team.id, integrationId: created.id, type: 'ssh' });
    expect(kept.secrets.privateKey).toBe(keys.encrypted.privateKey);

    const rekeyed = await patch(created.id, { secrets: { privateKey: keys.plain.privateKey } });
    expect(rekeyed.body).toMatchObject({ fingerprint: keys.plain.fingerprint, secretFields: ['privateKey'], settings: { user: 'ops' } });
    const now = await loadIntegrationSecret(em(), api.deps.keyring, { teamId: team.id, integrationId: created.id });
    expect(now.secrets).toEqual({ privateKey: keys.plain.privateKey });
    const audits = await em().find(AuditLogSchema, { action: 'integration.update', resourceId: created.id }, { orderBy: { id: 'asc' } });
    expect(audits.map((a) => a.data)).toEqual([
      expect.objectContaining({ changed: ['name', 'settings'], fingerprint: keys.encrypted.fingerprint }),
      expect.objectContaining({ changed: ['secrets'], fingerprint: keys.plain.fingerprint }),
    ]);
  });

  it('a git integration moved from ssh to https must be given a token, and its key is dropped', async () => {
    const created = await as.admin.post('/api/v1/integrations', {
      team: team.slug,
      type: 'git',
      name: `repo-${tag()}`,
      settings: { url: 'git@git.example.test:ops/config.git', hostKeys: [keys.hostKey.fingerprint] },
      secrets: { privateKey: keys.plain.privateKey },
    });
    expect(created.status).toBe(201);
    const https = { url: 'https://git.example.test/ops/config.git', username: 'ci-bot' };
    const refused = await patch(created.body.id, { settings: https });
    expect(refused.status).toBe(400);
    expect(refused.body.errors).toEqual([{ field: 'secrets.token', message: 'an https:// repository URL needs a token' }, { field: 'secrets.privateKey', message: 'for ssh repository URLs only; this one is https' }]);
    const moved = await patch(created.body.id, { settings: https, secrets: { token: 'glpat-test-token' } });
    expect(moved.body).toMatchObject({ settings: { ...https, hostKeys: [] }, secretFields: ['token'], fingerprint: null, publicKey: null });
  });

  // Who may edit an integration never reads its secrets; pointing it elsewhere would send them there.
  it('a change of where the secrets are sent (an API address) must give the secrets again; other settings need not', async () => {
    const settings = { url: 'https://jenkins.example.test/', user: 'ci' };
    const created = await as.admin.post('/api/v1/integrations', { team: team.slug, type: 'jenkins', name: `ci-${tag()}`, settings, secrets: { apiToken: 'jenkins-api-token-1' } });
    expect(created.status).toBe(201);
    const elsewhere = { ...settings, url: 'https://collector.example.test/' };
    const refused = await patch(created.body.id, { settings: elsewhere });
    expect([refused.status, refused.headers.get('content-type'), refused.body.errors]).toEqual([400, expect.stringContaining('problem+json'), [{ field: 'secrets', message: expect.stringContaining('settings.url changed') }]]);
    expect((await as.admin.get(`/api/v1/integrations/${created.body.id}`)).body.settings).toEqual(settings);
    expect((await patch(created.body.id, { settings: { ...settings, user: 'ci-bot' } })).body.settings).toEqual({ ...settings, user: 'ci-bot' });
    const moved = await patch(created.body.id, { settings: elsewhere, secrets: { apiToken: 'jenkins-api-token-2' } });
    expect([moved.status, moved.body.settings]).toEqual([200, elsewhere]);
  });

  it('deleting one an active run uses is 409 naming the run; once the run ended it is deleted, audited', async () => {
    const created = (await as.admin.post('/api/v1/integrations', sshBody())).body;
    const runId = await activeRun(team.id);
    await recordRunIntegrations(em(), runId, [created.id, created.id]);
    await recordRunIntegrations(em(), runId, [created.id]);

    const refused = await as.admin.del(`/api/v1/integrations/${created.id}`);
    expect(refused.status).toBe(409);
    expect(refused.body.activeRunIds).toEqual([runId]);
    expect(await em().count(IntegrationSchema, { id: created.id })).toBe(1);

    await updateRunState(em(), runId, { status: 'succeeded' });
    expect((await as.admin.del(`/api/v1/integrations/${created.id}`)).status).toBe(204);
    expect((await as.admin.get(`/api/v1/integrations/${created.id}`)).status).toBe(404);
    expect(await em().count(AuditLogSchema, { action: 'integration.delete', resourceId: created.id })).toBe(1);
    await expect(loadIntegrationSecret(em(), api.deps.keyring, { teamId: team.id, integrationId: created.id })).rejects.toThrow(/not found/);
  });

  it('publishes each type’s settings and secrets schemas', async () => {
    const res = await as.viewer.get('/api/v1/integration-types');
    const ssh = res.body.types.find((t: { type: string }) => t.type === 'ssh');
    expect(ssh.settingsSchema).toMatchObject({ type: 'object', required: ['user', 'hostKeys'] });
    expect(ssh.secretsSchema.properties.privateKey).toMatchObject({ type: 'string', writeOnly: true });
    // Every registered type, in order (each area adds its own: alert sources and channels, …).
    expect(res.body.types.map((t: { type: string }) => t.type)).toEqual(Object.keys(INTEGRATION_TYPES));
    expect(Object.keys(INTEGRATION_TYPES).slice(0, 2)).toEqual(['ssh', 'git']);
  });
});

const patch = (id: string, body: unknown) => as.admin.patch(`/api/v1/integrations/${id}`, body);

/** An active terraform run row of the team (no workflow: only the row matters here). */
async function activeRun(teamId: string): Promise<string> {
  const id = crypto.randomUUID();
  const userId = (await createUser(api.deps.db.em)).id;
  const requester = { type: 'user' as const, id: userId, label: 'fixture@example.test' };
  await insertRun(em(), { id, kind: 'terraform', teamId, requester, target: `ws-${tag()}`, params: {}, audit: { actor: null, action: 'run.start', resourceType: 'run', resourceId: id, teamId }, firstEvent: { type: 'status', level: 'info', message: 'queued', attempt: 0 } });
  return id;
}
