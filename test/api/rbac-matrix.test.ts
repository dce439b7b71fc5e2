import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { defaultPayloadConverter } from '@temporalio/common';
import type { TerraformRunInput } from '../../contracts/temporal.ts';
import { client, tokenFor } from '../fixtures/http.ts';
import { simpleConfig } from '../fixtures/terraform.ts';
import { createUser } from '../fixtures/users.ts';
import { ownNamespace } from '../peers/temporal.ts';
import { startApi, type TestApi } from '../peers/stack.ts';

// Route × role × own/other team for what decides whether a change is applied without a second person:
// starting with autoApply, and approving a run. No worker runs (own namespace): the workflow input
// shows what the API decided, and a decision the API lets through reaches Temporal, where the
// workflow has been terminated, so it answers 409 "not awaiting approval" instead of 403/404.
let api: TestApi;
type Role = 'viewer' | 'operator' | 'approver' | 'admin' | 'platform' | 'outsider';
const ROLES: Role[] = ['viewer', 'operator', 'approver', 'admin', 'platform', 'outsider'];
type Team = { slug: string; tokens: Record<Role, string> };
/** Four-eyes on (the default of a team created through the API), off, and on with auto-apply allowed for terraform. */
const teams: Record<'fourEyes' | 'noFourEyes' | 'autoApply', Team> = {} as never;

const ws = () => `ws-${crypto.randomUUID().slice(0, 8)}`;
const start = (token: string, team: string, autoApply: boolean) =>
  client(api, token).post('/api/v1/runs', { kind: 'terraform', team, params: { workspace: ws(), files: simpleConfig(), autoApply } });

async function workflowInput(runId: string): Promise<TerraformRunInput> {
  const history = await api.deps.temporal.workflow.getHandle(runId).fetchHistory();
  const payload = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
  return defaultPayloadConverter.fromPayload(payload);
}

beforeAll(async () => {
  api = await startApi({ TEMPORAL_NAMESPACE: await ownNamespace('rbac') });
  const em = api.deps.db.em;
  const platform = await tokenFor(api, (await createUser(em, { role: 'platform-admin' })).id);
  for (const [name, settings] of [['fourEyes', null], ['noFourEyes', { fourEyes: false }], ['autoApply', { autoApply: { kinds: ['terraform'] } }]] as const) {
    const slug = `rbac-${name.toLowerCase()}-${crypto.randomUUID().slice(0, 6)}`;
    const created = await client(api, platform).post('/api/v1/teams', { slug, name });
    expect(created.status).toBe(201);
    if (settings) expect((await client(api, platform).patch(`/api/v1/teams/${slug}/settings`, settings)).status).toBe(200);
    const other = await client(api, platform).post('/api/v1/teams', { slug: `${slug}-x`, name: 'other' });
    const tokens = { platform } as Record<Role, string>;
    for (const role of ['viewer', 'operator', 'approver', 'admin'] as const) {
      tokens[role] = await tokenFor(api, (await createUser(em, { teams: [{ id: created.body.id }], role })).id);
    }
    tokens.outsider = await tokenFor(api, (await createUser(em, { teams: [{ id: other.body.id }], role: 'admin' })).id);
    teams[name] = { slug, tokens };
  }
});
afterAll(() => api.close());

describe('POST /runs with autoApply', () => {
  // What each role gets, per team; a reason means 201 with that grant in the workflow's input.
  const expected: Record<keyof typeof teams, Record<Role, number | 'permission' | 'team-setting'>> = {
    fourEyes: { viewer: 403, operator: 403, approver: 403, admin: 403, platform: 403, outsider: 404 },
    noFourEyes: { viewer: 403, operator: 403, approver: 'permission', admin: 'permission', platform: 'permission', outsider: 404 },
    autoApply: { viewer: 403, operator: 'team-setting', approver: 'team-setting', admin: 'team-setting', platform: 'team-setting', outsider: 404 },
  };

  for (const name of Object.keys(expected) as (keyof typeof teams)[]) {
    it(`in a team with ${name}`, async () => {
      const got: Record<string, number | string> = {};
      for (const role of ROLES) {
        const res = await start(teams[name].tokens[role], teams[name].slug, true);
        if (res.status !== 201) {
          got[role] = res.status;
          // A refusal that is about auto-apply says so, naming the field.
          if (res.status === 403 && role !== 'viewer') expect(res.body.errors).toEqual([{ field: 'params.autoApply', message: expect.stringMatching(/^not allowed: /) }]);
          continue;
        }
        const input = await workflowInput(res.body.id);
        got[role] = input.autoApprove?.reason ?? 'no grant';
        expect(input.autoApprove).toEqual({ by: expect.any(String), byEmail: expect.any(String), reason: got[role] });
      }
      expect(got).toEqual(expected[name]);
    });
  }

  it('without autoApply, starts never carry a grant, whoever starts them', async () => {
    for (const name of Object.keys(teams) as (keyof typeof teams)[]) {
      for (const role of ['operator', 'approver', 'platform'] as const) {
        const res = await start(teams[name].tokens[role], teams[name].slug, false);
        expect(res.status).toBe(201);
        expect(await workflowInput(res.body.id)).not.toHaveProperty('autoApprove');
      }
    }
  });
});

describe('approve and reject', () => {
  /** A run of `team` started by `by`, whose workflow is then terminated (nothing left to wait for). */
  async function endedRun(team: Team, by: Role): Promise<string> {
    const res = await start(team.tokens[by], team.slug, false);
    expect(res.status).toBe(201);
    await api.deps.temporal.workflow.getHandle(res.body.id).terminate('rbac matrix');
    return res.body.id;
  }
  /** 'decided' when the decision passed every check and reached the workflow (409: not awaiting approval). */
  async function outcome(token: string, runId: string, decision: 'approve' | 'reject') {
    const res = await client(api, token).post(`/api/v1/runs/${runId}/${decision}`, { comment: 'matrix' });
    if (res.status === 409) {
      expect(res.body.detail).toMatch(/not awaiting approval/);
      return 'decided';
    }
    if (res.status === 403 && /four-eyes/.test(res.body.detail)) return 'four-eyes';
    return res.status;
  }

  for (const name of ['fourEyes', 'noFourEyes'] as const) {
    it(`approve, on someone else’s run and on one’s own, with ${name}`, async () => {
      const team = teams[name];
      const others = await endedRun(team, 'operator');
      const got: Record<string, unknown> = {};
      for (const role of ROLES) {
        const own = role === 'outsider' ? others : await endedRun(team, role === 'viewer' ? 'operator' : role);
        got[role] = { others: await outcome(team.tokens[role], others, 'approve'), own: role === 'viewer' || role === 'outsider' ? '-' : await outcome(team.tokens[role], own, 'approve') };
      }
      const ownApproval = name === 'fourEyes' ? 'four-eyes' : 'decided';
      expect(got).toEqual({
        viewer: { others: 403, own: '-' },
        operator: { others: 403, own: 403 },
        approver: { others: 'decided', own: ownApproval },
        admin: { others: 'decided', own: ownApproval },
        platform: { others: 'decided', own: ownApproval },
        outsider: { others: 404, own: '-' },
      });
    });
  }

  it('lets the requester reject their own run with four-eyes on', async () => {
    const team = teams.fourEyes;
    const own = await endedRun(team, 'approver');
    expect(await outcome(team.tokens.approver, own, 'reject')).toBe('decided');
    expect(await outcome(team.tokens.approver, own, 'approve')).toBe('four-eyes');
  });
});

describe('API tokens and custom roles', () => {
  /** An API token of the team's `role` member, scoped to `permissions`. */
  async function apiToken(team: Team, role: Role, permissions: string[]): Promise<string> {
    const res = await client(api, team.tokens[role]).post('/api/v1/me/tokens', { name: 'matrix', team: team.slug, permissions });
    expect(res.status).toBe(201);
    return res.body.token;
  }

  it('a token is held to its scope on every route, whatever its creator may do', async () => {
    const team = teams.noFourEyes;
    // A read-only token of a platform admin: every operation that changes something must be refused.
    const readOnly = await apiToken(team, 'platform', ['runs:read']);
    const doc = (await client(api).get('/api/v1/openapi.json')).body as { paths: Record<string, Record<string, { security?: unknown[] }>> };
    const id = crypto.randomUUID();
    const fill = (path: string) => path.replace('{slug}', team.slug).replace(/\{[^}]+\}/g, id);
    const succeeded: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        if (method === 'get' || (op.security && op.security.length === 0)) continue;
        // Its own revocation and logout (which ends no session of a token) are all a token may do.
        if (path === '/api/v1/me/tokens/{id}' || path === '/api/v1/auth/logout') continue;
        const res = await fetch(`${api.baseUrl}${fill(path)}`, { method: method.toUpperCase(), headers: { authorization: `Bearer ${readOnly}`, 'content-type': 'application/json' }, body: '{}' });
        if (res.status < 400) succeeded.push(`${method} ${path} → ${res.status}`);
      }
    }
    expect(succeeded).toEqual([]);
    // With real inputs: starting, approving and managing the team are refused; reading is not.
    expect((await start(readOnly, team.slug, false)).status).toBe(403);
    expect((await client(api, readOnly).patch(`/api/v1/teams/${team.slug}/settings`, { fourEyes: true })).status).toBe(403);
    expect((await client(api, readOnly).post('/api/v1/teams', { slug: `tok-${id.slice(0, 6)}`, name: 'x' })).status).toBe(403);
    expect((await client(api, readOnly).get('/api/v1/runs')).status).toBe(200);
  });

  it('a start-only token starts runs but never skips or gives the approval; an approve token approves', async () => {
    const team = teams.noFourEyes;
    const starter = await apiToken(team, 'approver', ['runs:read', 'runs:start:terraform']);
    const started = await start(starter, team.slug, false);
    expect(started.status).toBe(201);
    expect((await start(starter, team.slug, true)).status).toBe(403);
    await api.deps.temporal.workflow.getHandle(started.body.id).terminate('rbac matrix');
    expect((await client(api, starter).post(`/api/v1/runs/${started.body.id}/approve`, { comment: 'x' })).status).toBe(403);
    const approver = await apiToken(team, 'approver', ['runs:read', 'runs:approve:terraform']);
    const decided = await client(api, approver).post(`/api/v1/runs/${started.body.id}/approve`, { comment: 'x' });
    expect(decided.status).toBe(409);
    // Beyond the creator: an operator cannot mint an approving token.
    const refused = await client(api, team.tokens.operator).post('/api/v1/me/tokens', { name: 'x', team: team.slug, permissions: ['runs:approve'] });
    expect(refused.status).toBe(403);
  });

  it('a custom role grants per kind and approves only the targets it is limited to', async () => {
    const team = teams.noFourEyes;
    const role = await client(api, team.tokens.platform).post('/api/v1/roles', {
      name: `prod-approver-${crypto.randomUUID().slice(0, 6)}`,
      permissions: ['runs:read', 'runs:approve:terraform'],
      approvalTargets: ['prod'],
    });
    expect(role.status).toBe(201);
    const member = await createUser(api.deps.db.em, { teams: [{ id: (await client(api, team.tokens.platform).get('/api/v1/teams')).body.items.find((t: { slug: string }) => t.slug === team.slug).id }], role: 'viewer' });
    expect((await client(api, team.tokens.admin).put(`/api/v1/teams/${team.slug}/members/${member.id}/role`, { roleId: role.body.id })).status).toBe(200);
    const token = await tokenFor(api, member.id);
    const run = async (workspace: string) => {
      const res = await client(api, team.tokens.operator).post('/api/v1/runs', { kind: 'terraform', team: team.slug, params: { workspace, files: simpleConfig() } });
      expect(res.status).toBe(201);
      await api.deps.temporal.workflow.getHandle(res.body.id).terminate('rbac matrix');
      return res.body.id as string;
    };
    const elsewhere = await client(api, token).post(`/api/v1/runs/${await run(`staging-${crypto.randomUUID().slice(0, 6)}`)}/approve`, { comment: 'x' });
    expect(elsewhere.status).toBe(403);
    expect(elsewhere.body.detail).toMatch(/may approve only some targets/);
    expect((await client(api, token).post(`/api/v1/runs/${await run('prod')}/approve`, { comment: 'x' })).status).toBe(409);
    // It grants no start.
    expect((await start(token, team.slug, false)).status).toBe(403);
  });
});
