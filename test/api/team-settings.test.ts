import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AuditLogSchema } from '../../db/entities/index.ts';
import { findTeamSettings } from '../../db/repositories/teams.ts';
import { client, tokenFor } from '../fixtures/http.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { startApi, type TestApi } from '../peers/stack.ts';

let api: TestApi;
let platform: string;
beforeAll(async () => {
  api = await startApi();
  platform = await tokenFor(api, (await createUser(api.deps.db.em, { role: 'platform-admin' })).id);
});
afterAll(() => api.close());

const DEFAULTS = { fourEyes: true, requireMfa: false, autoApply: { kinds: [] }, terraform: { forbidProvisioners: [], forbidExternalData: false }, deploy: { rollbackApproval: false } };
const em = () => api.deps.db.em.fork();
const audits = (teamId: string) => em().count(AuditLogSchema, { action: 'team.settings.update', teamId });

/** A team made through the API, with a member of each role. */
async function team() {
  const slug = `settings-${crypto.randomUUID().slice(0, 8)}`;
  const created = await client(api, platform).post('/api/v1/teams', { slug, name: 'Settings' });
  const member = async (role: 'viewer' | 'approver' | 'admin') => tokenFor(api, (await createUser(api.deps.db.em, { teams: [{ id: created.body.id }], role })).id);
  return { id: created.body.id as string, slug, viewer: await member('viewer'), approver: await member('approver'), admin: await member('admin') };
}

describe('GET/PATCH /api/v1/teams/:slug/settings', () => {
  it('a new team has four-eyes on; members read the settings, the team admin changes them, audited with before and after', async () => {
    const t = await team();
    const read = await client(api, t.viewer).get(`/api/v1/teams/${t.slug}/settings`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(DEFAULTS);

    const patch = { fourEyes: false, autoApply: { kinds: ['terraform', 'terraform'] }, terraform: { forbidProvisioners: ['local-exec', 'remote-exec'] } };
    const changed = await client(api, t.admin).patch(`/api/v1/teams/${t.slug}/settings`, patch);
    expect(changed.status).toBe(200);
    const after = { fourEyes: false, requireMfa: false, autoApply: { kinds: ['terraform'] }, terraform: { forbidProvisioners: ['local-exec', 'remote-exec'], forbidExternalData: false }, deploy: { rollbackApproval: false } };
    expect(changed.body).toEqual(after);
    expect((await client(api, t.viewer).get(`/api/v1/teams/${t.slug}/settings`)).body).toEqual(after);
    // What the Terraform activity reads.
    expect(await findTeamSettings(em(), t.id)).toEqual(after);
    const audit = await em().findOneOrFail(AuditLogSchema, { action: 'team.settings.update', teamId: t.id });
    expect(audit.data).toEqual({ before: DEFAULTS, after });

    // A partial patch leaves the rest as it was.
    const partial = await client(api, t.admin).patch(`/api/v1/teams/${t.slug}/settings`, { terraform: { forbidExternalData: true } });
    expect(partial.body).toEqual({ ...after, terraform: { forbidProvisioners: ['local-exec', 'remote-exec'], forbidExternalData: true } });
  });

  it('a run start goes by the settings as they are now: auto-apply allowed, then refused again, each at the next request', async () => {
    const t = await team();
    const start = (n: number) =>
      client(api, t.admin).post('/api/v1/runs', { kind: 'terraform', team: t.slug, params: { workspace: `auto-${n}`, files: { 'main.tf': 'resource "terraform_data" "x" {}\n' }, autoApply: true } });
    // Four-eyes is on: the admin may not approve their own run. This start also caches the team.
    const refused = await start(1);
    expect(refused.status).toBe(403);
    expect(refused.body.detail).toMatch(/four-eyes/);
    expect((await client(api, t.admin).patch(`/api/v1/teams/${t.slug}/settings`, { fourEyes: false })).status).toBe(200);
    expect((await start(2)).status).toBe(201);
    expect((await client(api, t.admin).patch(`/api/v1/teams/${t.slug}/settings`, { fourEyes: true })).status).toBe(200);
    expect((await start(3)).status).toBe(403);
  });

  it('reads a stored document with only some keys (what the migration leaves on existing teams: four-eyes off) with the rest defaulted', async () => {
    // A row written without settings beyond the migrated default, as the migration leaves existing teams.
    const existing = await createTeam(api.deps.db.em, undefined, {});
    await em().execute(`update teams set settings = '{"fourEyes": false}' where id = ?`, [existing.id]);
    expect(await findTeamSettings(em(), existing.id)).toEqual({ ...DEFAULTS, fourEyes: false });
  });

  it('is refused to other roles (403) and other teams (404), changing nothing', async () => {
    const t = await team();
    const outsider = await tokenFor(api, (await createUser(api.deps.db.em, { teams: [{ id: (await createTeam(api.deps.db.em)).id }], role: 'admin' })).id);
    expect((await client(api, t.approver).patch(`/api/v1/teams/${t.slug}/settings`, { fourEyes: false })).status).toBe(403);
    expect((await client(api, t.viewer).patch(`/api/v1/teams/${t.slug}/settings`, { fourEyes: false })).status).toBe(403);
    expect((await client(api, outsider).patch(`/api/v1/teams/${t.slug}/settings`, { fourEyes: false })).status).toBe(404);
    expect((await client(api, outsider).get(`/api/v1/teams/${t.slug}/settings`)).status).toBe(404);
    expect((await client(api).get(`/api/v1/teams/${t.slug}/settings`)).status).toBe(401);
    expect(await audits(t.id)).toBe(0);
    expect((await client(api, t.viewer).get(`/api/v1/teams/${t.slug}/settings`)).body).toEqual(DEFAULTS);
  });

  it('answers 400 problem+json naming each bad field, changing nothing', async () => {
    const t = await team();
    const cases: [unknown, string[]][] = [
      [{}, ['(body)']],
      [{ fourEyes: 'yes' }, ['fourEyes']],
      [{ autoApply: { kinds: ['no-such-kind'] } }, ['autoApply.kinds.0']],
      [{ autoApply: ['terraform'] }, ['autoApply']],
      [{ terraform: { forbidProvisioners: ['local-exec', 'chef'] } }, ['terraform.forbidProvisioners.1']],
      [{ terraform: { forbidExternalData: 1 } }, ['terraform.forbidExternalData']],
      [{ fourEye: true }, ['fourEye', '(body)']],
      [{ terraform: { forbidProvisioner: [] } }, ['terraform.forbidProvisioner']],
    ];
    for (const [body, fields] of cases) {
      const res = await client(api, t.admin).patch(`/api/v1/teams/${t.slug}/settings`, body);
      expect({ body, status: res.status, type: res.headers.get('content-type'), fields: res.body.errors?.map((e: { field: string }) => e.field) }).toEqual({
        body,
        status: 400,
        type: expect.stringContaining('application/problem+json'),
        fields,
      });
    }
    expect(await audits(t.id)).toBe(0);
    expect((await client(api, t.admin).patch('/api/v1/teams/Not A Slug/settings', { fourEyes: true })).body.errors).toEqual([expect.objectContaining({ field: 'slug' })]);
  });
});
