import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startApi, type TestApi } from '../peers/stack.ts';
import { ownNamespace } from '../peers/temporal.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { client, tokenFor } from '../fixtures/http.ts';
import { simpleConfig } from '../fixtures/terraform.ts';

// These tests run no worker: workflows are started on the real Temporal server and stay queued,
// which is all the start/list/RBAC paths need. Their own namespace keeps other files' workers from
// picking them up. The full lifecycle is in test/e2e/.
let api: TestApi;
let team: { id: string; slug: string };
let otherTeam: { id: string; slug: string };
let operator: string;
let viewer: string;
let outsider: string;

const terraform = (workspace: string, extra: Record<string, unknown> = {}) => ({
  kind: 'terraform',
  team: team.slug,
  params: { workspace, files: simpleConfig(), ...extra },
});
const ws = () => `ws-${crypto.randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  const namespace = await ownNamespace('runs');
  api = await startApi({ TEMPORAL_NAMESPACE: namespace });
  const em = api.deps.db.em;
  team = await createTeam(em);
  otherTeam = await createTeam(em);
  operator = await tokenFor(api, (await createUser(em, { teams: [team], role: 'operator' })).id);
  viewer = await tokenFor(api, (await createUser(em, { teams: [team], role: 'viewer' })).id);
  outsider = await tokenFor(api, (await createUser(em, { teams: [otherTeam], role: 'admin' })).id);
});
afterAll(async () => {
  await api.close();
});

/** Rows this file's team owns; other test files write to the same database concurrently. */
async function teamRows(): Promise<number[]> {
  const em = api.deps.db.em.fork();
  const count = async (sql: string) => Number((await em.execute<{ n: string }[]>(sql, [team.id]))[0]!.n);
  return [
    await count('select count(*) as n from runs where team_id = ?'),
    await count('select count(*) as n from audit_log where team_id = ?'),
    await count('select count(*) as n from run_events e join runs r on r.id = e.run_id where r.team_id = ?'),
  ];
}

describe('POST /api/v1/runs', () => {
  it('records the run, starts its workflow with workflowId = run id, and audits it', async () => {
    const res = await client(api, operator).post('/api/v1/runs', terraform(ws()));
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ kind: 'terraform', team: team.slug, status: 'queued', params: { autoApply: false, variables: {} } });
    expect(res.headers.get('location')).toBe(`/api/v1/runs/${res.body.id}`);

    const description = await api.deps.temporal.workflow.getHandle(res.body.id).describe();
    expect(description.type).toBe('terraformRun');
    expect(description.taskQueue).toBe('infra');
    const audit = await api.deps.db.em.fork().execute(`select action, actor_id from audit_log where resource_id = ?`, [res.body.id]);
    expect(audit).toEqual([{ action: 'run.start', actor_id: expect.any(String) }]);
    const events = await client(api, operator).get(`/api/v1/runs/${res.body.id}/events`);
    expect(events.body.events[0]).toMatchObject({ seq: 1, type: 'status', data: { status: 'queued' } });
  });

  it('answers 400 naming every bad field and writes nothing', async () => {
    const before = await teamRows();
    const res = await client(api, operator).post('/api/v1/runs', {
      kind: 'terraform',
      team: team.slug,
      params: { workspace: 'Bad Name!', files: { '../etc/passwd': 'x' }, autoApply: 'yes' },
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    const fields = res.body.errors.map((e: { field: string }) => e.field).sort();
    expect(fields).toEqual(expect.arrayContaining(['params.workspace', 'params.autoApply']));
    const fileError = res.body.errors.find((e: { field: string }) => e.field.startsWith('params.files'));
    expect(fileError.message).toContain('.tf');
    expect(await teamRows()).toEqual(before);
  });

  it('rejects an unknown kind and a missing body field', async () => {
    const res = await client(api, operator).post('/api/v1/runs', { kind: 'nope', team: team.slug, params: {} });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ field: 'kind', message: expect.stringContaining('terraform') }]);
    const missing = await client(api, operator).post('/api/v1/runs', { kind: 'terraform' });
    expect(missing.status).toBe(400);
    expect(missing.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['params', 'team']);
  });

  it('answers 409 naming the active run when the workspace is busy', async () => {
    const workspace = ws();
    const first = await client(api, operator).post('/api/v1/runs', terraform(workspace));
    const second = await client(api, operator).post('/api/v1/runs', terraform(workspace));
    expect(second.status).toBe(409);
    expect(second.body.activeRunId).toBe(first.body.id);
    expect(second.body.detail).toContain(first.body.id);
  });

  it('never names another team’s active run (which would be a 404 to the caller)', async () => {
    const workspace = ws();
    const theirs = await client(api, outsider).post('/api/v1/runs', { kind: 'terraform', team: otherTeam.slug, params: { workspace, files: simpleConfig() } });
    expect(theirs.status).toBe(201);
    const mine = await client(api, operator).post('/api/v1/runs', terraform(workspace));
    // Busy (one active run per workspace) or not (per team), the answer carries nothing of theirs.
    expect([201, 409]).toContain(mine.status);
    expect(JSON.stringify(mine.body)).not.toContain(theirs.body.id);
    expect((await client(api, operator).get(`/api/v1/runs/${theirs.body.id}`)).status).toBe(404);
  });

  it('lets only one of many concurrent starts on one workspace through', async () => {
    const workspace = ws();
    const results = await Promise.all(Array.from({ length: 5 }, () => client(api, operator).post('/api/v1/runs', terraform(workspace))));
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409]);
  });

  it('refuses a viewer (403) and hides another team (404)', async () => {
    expect((await client(api, viewer).post('/api/v1/runs', terraform(ws()))).status).toBe(403);
    expect((await client(api, outsider).post('/api/v1/runs', terraform(ws()))).status).toBe(404);
    expect((await client(api).post('/api/v1/runs', terraform(ws()))).status).toBe(401);
  });
});

describe('reading runs', () => {
  it('hides another team’s run (404) and shows it to its team’s viewer', async () => {
    const created = await client(api, operator).post('/api/v1/runs', terraform(ws()));
    expect((await client(api, viewer).get(`/api/v1/runs/${created.body.id}`)).body.id).toBe(created.body.id);
    expect((await client(api, outsider).get(`/api/v1/runs/${created.body.id}`)).status).toBe(404);
    expect((await client(api, outsider).get(`/api/v1/runs/${created.body.id}/events`)).status).toBe(404);
    expect((await client(api, outsider).post(`/api/v1/runs/${created.body.id}/cancel`)).status).toBe(404);
    expect((await client(api, viewer).post(`/api/v1/runs/${created.body.id}/cancel`)).status).toBe(403);
    expect((await client(api, viewer).post(`/api/v1/runs/${created.body.id}/approve`)).status).toBe(403);
  });

  it('lists newest first with cursor paging and filters', async () => {
    const pageTeam = await createTeam(api.deps.db.em);
    const user = await createUser(api.deps.db.em, { teams: [pageTeam], role: 'operator' });
    const token = await tokenFor(api, user.id);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await client(api, token).post('/api/v1/runs', { kind: 'terraform', team: pageTeam.slug, params: { workspace: `page-${i}-${pageTeam.slug}`, files: simpleConfig() } });
      ids.push(r.body.id);
    }
    const first = await client(api, token).get(`/api/v1/runs?team=${pageTeam.slug}&limit=2`);
    const second = await client(api, token).get(`/api/v1/runs?team=${pageTeam.slug}&limit=2&cursor=${first.body.nextCursor}`);
    const third = await client(api, token).get(`/api/v1/runs?team=${pageTeam.slug}&limit=2&cursor=${second.body.nextCursor}`);
    const seen = [...first.body.runs, ...second.body.runs, ...third.body.runs].map((r: { id: string }) => r.id);
    expect(seen).toEqual([...ids].reverse());
    expect(third.body.nextCursor).toBeNull();

    const byWorkspace = await client(api, token).get(`/api/v1/runs?workspace=page-3-${pageTeam.slug}`);
    expect(byWorkspace.body.runs.map((r: { id: string }) => r.id)).toEqual([ids[3]]);
    const byUser = await client(api, token).get(`/api/v1/runs?requestedBy=${encodeURIComponent(user.email)}&status=queued&kind=terraform`);
    expect(byUser.body.runs).toHaveLength(5);
    const otherKind = await client(api, token).get(`/api/v1/runs?team=${pageTeam.slug}&kind=ansible`);
    expect(otherKind.body.runs).toEqual([]);
    // An outsider filtering by this team sees nothing rather than an error that confirms it exists.
    const foreign = await client(api, outsider).get(`/api/v1/runs?team=${pageTeam.slug}`);
    expect(foreign.body.runs).toEqual([]);
    expect((await client(api, token).get('/api/v1/runs?cursor=garbage')).status).toBe(400);
    expect((await client(api, token).get('/api/v1/runs?status=bogus')).body.errors[0].field).toBe('status');
  });

  it('returns only the fields named in `fields` (id always), on the list and on one run', async () => {
    const earlier = await client(api, operator).post('/api/v1/runs', terraform(ws()));
    const created = await client(api, operator).post('/api/v1/runs', terraform(ws()));
    const one = await client(api, viewer).get(`/api/v1/runs/${created.body.id}?fields=status,target`);
    expect(one.status).toBe(200);
    expect(one.body).toEqual({ id: created.body.id, status: 'queued', target: created.body.target });
    const spaced = await client(api, viewer).get(`/api/v1/runs/${created.body.id}?fields=${encodeURIComponent(' kind , id,')}`);
    expect(spaced.body).toEqual({ id: created.body.id, kind: 'terraform' });

    // Paging is untouched by the selection: the cursor still leads to the next run.
    const list = await client(api, viewer).get(`/api/v1/runs?team=${team.slug}&limit=1&fields=requestedBy,createdAt`);
    expect(list.status).toBe(200);
    expect(list.body.runs).toEqual([{ id: created.body.id, requestedBy: created.body.requestedBy, createdAt: created.body.createdAt }]);
    const next = await client(api, viewer).get(`/api/v1/runs?team=${team.slug}&limit=1&fields=status&cursor=${list.body.nextCursor}`);
    expect(next.body.runs).toEqual([{ id: earlier.body.id, status: 'queued' }]);
    const whole = await client(api, viewer).get(`/api/v1/runs/${created.body.id}`);
    expect(Object.keys(whole.body)).toEqual(expect.arrayContaining(['params', 'summary', 'approval', 'lastSeq']));
  });

  it('answers 400 naming `fields` for unknown or no names, and documents the parameter', async () => {
    const created = await client(api, operator).post('/api/v1/runs', terraform(ws()));
    for (const path of [`/api/v1/runs?fields=status,password`, `/api/v1/runs/${created.body.id}?fields=status,password`]) {
      const res = await client(api, viewer).get(path);
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual([{ field: 'fields', message: expect.stringMatching(/^unknown field password; choose from id, kind, /) }]);
    }
    expect((await client(api, viewer).get('/api/v1/runs?fields=,')).body.errors).toEqual([expect.objectContaining({ field: 'fields' })]);

    const doc = (await client(api).get('/api/v1/openapi.json')).body;
    for (const op of [doc.paths['/api/v1/runs'].get, doc.paths['/api/v1/runs/{id}'].get]) {
      expect(op.parameters).toContainEqual(expect.objectContaining({ name: 'fields', in: 'query', required: false, schema: { type: 'string', pattern: expect.stringContaining('cancelRequest') } }));
      expect(op.responses['400']).toBeDefined();
    }
  });

  it('publishes each kind with a JSON Schema of its params', async () => {
    const res = await client(api, viewer).get('/api/v1/kinds');
    const tf = res.body.kinds.find((k: { kind: string }) => k.kind === 'terraform');
    expect(tf.paramsSchema.properties).toHaveProperty('workspace');
    expect(tf.paramsSchema.required).toEqual(expect.arrayContaining(['workspace']));
    // Either inline files or a git source, never both: said in the schema as well as checked.
    expect(tf.paramsSchema.oneOf).toEqual([{ required: ['files'] }, { required: ['source'] }]);
    expect(tf).toMatchObject({ approval: 'always', summary: 'plan', description: expect.any(String) });
  });
});
