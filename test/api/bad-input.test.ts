import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { tokenFor } from '../fixtures/http.ts';
import { simpleConfig } from '../fixtures/terraform.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { startApi, type TestApi } from '../peers/stack.ts';

// What the audit's fuzzer turned into 500s, each now a 400 problem+json naming the field, and what
// it found wrong about methods: every one of these answered 500 (or 501, or a wrong Allow) before.
let api: TestApi;
let admin: string;
let adminId: string;
let team: { id: string; slug: string };
beforeAll(async () => {
  api = await startApi();
  team = await createTeam(api.deps.db.em);
  adminId = (await createUser(api.deps.db.em, { role: 'platform-admin' })).id;
  admin = await tokenFor(api, adminId);
});
afterAll(() => api.close());

const uuid = () => crypto.randomUUID();
/** A raw request: the body is sent as given, not JSON-encoded. */
async function raw(method: string, path: string, body?: string, token: string | null = admin) {
  const res = await fetch(`${api.baseUrl}${path}`, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body,
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, any>) : {} }; // eslint-disable-line @typescript-eslint/no-explicit-any
}
const fields = (res: { body: { errors?: { field: string }[] } }) => (res.body.errors ?? []).map((e) => e.field);
const expectProblem = (res: Awaited<ReturnType<typeof raw>>, field: string) => {
  expect({ status: res.status, type: res.headers.get('content-type'), fields: fields(res) }).toEqual({
    status: 400,
    type: expect.stringContaining('application/problem+json'),
    fields: expect.arrayContaining([field]),
  });
};
/** What this file's admin had written (other test files write to the same database meanwhile). */
const auditRows = async () => Number((await api.deps.db.em.fork().execute<{ n: string }[]>('select count(*) as n from audit_log where actor_id = ?', [adminId]))[0]!.n);

/** Every route that takes a JSON body. */
const JSON_ROUTES: [string, () => string][] = [
  ['POST', () => '/api/v1/auth/login'],
  ['POST', () => '/api/v1/auth/refresh'],
  ['POST', () => '/api/v1/auth/password'],
  ['POST', () => '/api/v1/teams'],
  ['PUT', () => `/api/v1/teams/${team.slug}/members`],
  ['PATCH', () => `/api/v1/teams/${team.slug}/settings`],
  ['POST', () => '/api/v1/users'],
  ['PATCH', () => `/api/v1/users/${uuid()}`],
  ['POST', () => '/api/v1/runs'],
  ['POST', () => `/api/v1/runs/${uuid()}/approve`],
  ['POST', () => `/api/v1/runs/${uuid()}/reject`],
  ['POST', () => `/api/v1/runs/${uuid()}/cancel`],
];

describe('a body that is not a JSON object', () => {
  it.each(JSON_ROUTES)('%s %s: 400 naming (body) for invalid JSON and for every non-object', async (method, path) => {
    for (const body of ['{', 'y', '\u0000', '"AAA"', '5', 'null', 'true', '[]', '[{"email":"a@b.co"}]']) {
      expectProblem(await raw(method, path(), body), '(body)');
    }
  });
});

describe('NUL characters', () => {
  it('in a query parameter, a path segment and a body field', async () => {
    expectProblem(await raw('GET', '/api/v1/runs?kind=ter%00raform'), 'kind');
    expectProblem(await raw('GET', '/api/v1/users?cursor=a%00b'), 'cursor');
    expectProblem(await raw('GET', `/api/v1/runs/${uuid().slice(0, 35)}%00`), 'id');
    expectProblem(await raw('GET', '/api/v1/teams/ab%00c/members'), 'slug');
    expectProblem(await raw('POST', '/api/v1/auth/login', JSON.stringify({ email: 'a@b.co', password: 'pass\u0000word' }), null), 'password');
  });

  it('in a run’s file contents, variables and names, writing nothing', async () => {
    const before = await auditRows();
    const start = (params: Record<string, unknown>) => raw('POST', '/api/v1/runs', JSON.stringify({ kind: 'terraform', team: team.slug, params: { workspace: 'nul', files: simpleConfig(), ...params } }));
    expectProblem(await start({ files: { 'main.tf': 'resource "x" "y" {}\u0000' } }), 'params.files.main.tf');
    expectProblem(await start({ variables: { value: 'a\u0000b' } }), 'params.variables.value');
    expectProblem(await start({ variables: { 'va\u0000lue': 'x' } }), 'params.variables.va\\u0000lue');
    expectProblem(await raw('POST', '/api/v1/teams', JSON.stringify({ slug: `nul-${uuid().slice(0, 6)}`, name: 'a\u0000b' })), 'name');
    expect(await auditRows()).toBe(before);
  });
});

describe('values PostgreSQL would have refused as casts', () => {
  it('requestedBy that is neither a user id nor an email', async () => {
    expectProblem(await raw('GET', '/api/v1/runs?requestedBy=abc'), 'requestedBy');
    expect((await raw('GET', `/api/v1/runs?requestedBy=${uuid()}`)).status).toBe(200);
    expect((await raw('GET', '/api/v1/runs?requestedBy=someone%40example.test')).status).toBe(200);
  });

  it('a decision\'s waitingSince that is not a date-time', async () => {
    for (const waitingSince of ['yesterday', '2026-13-01T00:00:00Z', '2026-11-29T10:00:00', 5]) {
      for (const path of ['/approve', '/reject']) expectProblem(await raw('POST', `/api/v1/runs/${uuid()}${path}`, JSON.stringify({ waitingSince })), 'waitingSince');
    }
  });

  it('a 36-character run id that is not a UUID, on every run route', async () => {
    for (const id of ['------------------------------------', 'zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa']) {
      for (const [method, path] of [['GET', ''], ['GET', '/events'], ['POST', '/approve'], ['POST', '/reject'], ['POST', '/cancel']] as const) {
        expectProblem(await raw(method, `/api/v1/runs/${id}${path}`, method === 'POST' ? '{}' : undefined), 'id');
      }
    }
    expectProblem(await raw('PATCH', '/api/v1/users/------------------------------------', '{"name":"x"}'), 'id');
  });
});

describe('names JavaScript objects already have', () => {
  it('a run claiming to roll back another run is refused: only the rollback route links them', async () => {
    const before = await auditRows();
    const res = await raw('POST', '/api/v1/runs', JSON.stringify({ kind: 'deploy', team: team.slug, params: { target: { platform: 'docker', integration: uuid(), container: 'web', image: 'web:v2' }, rollbackOf: uuid() } }));
    expectProblem(res, 'params.rollbackOf');
    expect(await auditRows()).toBe(before);
  });

  it('kind constructor, toString and __proto__ are unknown kinds', async () => {
    for (const kind of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      const res = await raw('POST', '/api/v1/runs', JSON.stringify({ kind, team: team.slug, params: { workspace: 'w', files: simpleConfig() } }));
      expectProblem(res, 'kind');
      expect(res.body.errors[0].message).toContain('terraform');
    }
  });

  it('a "__proto__" key anywhere in a body is refused, naming where it was', async () => {
    const before = await auditRows();
    expectProblem(await raw('POST', '/api/v1/teams', `{"slug":"proto-${uuid().slice(0, 6)}","name":"P","__proto__":{"isAdmin":true}}`), '__proto__');
    const run = (params: string) => raw('POST', '/api/v1/runs', `{"kind":"terraform","team":"${team.slug}","params":${params}}`);
    expectProblem(await run(`{"workspace":"w","files":{"main.tf":""},"__proto__":{"autoApply":true}}`), 'params.__proto__');
    expectProblem(await run(`{"workspace":"w","files":{"main.tf":""},"variables":{"__proto__":"x"}}`), 'params.variables.__proto__');
    expectProblem(await run(`{"workspace":"w","files":{"__proto__":"x","main.tf":""}}`), 'params.files.__proto__');
    expect(await auditRows()).toBe(before);
  });
});

/** Over node:http, which (unlike fetch) sends any method, TRACE included. */
function anyMethod(method: string, path: string): Promise<{ status: number; allow: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL(api.baseUrl + path);
    const req = http.request({ method, host: url.hostname, port: url.port, path, headers: { authorization: `Bearer ${admin}` } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, allow: res.headers.allow, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('methods', () => {
  it('answers 405 with an Allow header listing what the path serves, from every router together', async () => {
    for (const [method, path, allow] of [
      ['DELETE', '/api/v1/runs', ['GET', 'HEAD', 'POST']],
      ['TRACE', '/api/v1/runs', ['GET', 'HEAD', 'POST']],
      ['PUT', `/api/v1/runs/${uuid()}`, ['GET', 'HEAD']],
      ['GET', '/api/v1/auth/login', ['POST']],
      ['GET', `/api/v1/runs/${uuid()}/approve`, ['POST']],
      ['POST', `/api/v1/teams/${team.slug}/members`, ['GET', 'HEAD', 'PUT']],
      ['DELETE', `/api/v1/teams/${team.slug}/settings`, ['GET', 'HEAD', 'PATCH']],
      ['POST', '/api/v1/openapi.json', ['GET', 'HEAD']],
      ['POST', '/health', ['GET', 'HEAD']],
    ] as const) {
      const res = await anyMethod(method, path);
      expect({ method, path, status: res.status, allow: res.allow?.split(', ').sort() }).toEqual({ method, path, status: 405, allow: [...allow].sort() });
      expect(JSON.parse(res.body)).toMatchObject({ status: 405, title: 'Method not allowed' });
    }
    const options = await anyMethod('OPTIONS', '/api/v1/runs');
    expect(options.status).toBe(204);
    expect(options.allow?.split(', ').sort()).toEqual(['GET', 'HEAD', 'POST']);
  });

  it('answers 404 for a path no router serves, whatever the method', async () => {
    for (const method of ['GET', 'POST', 'DELETE']) expect((await raw(method, '/api/v1/nothing-here')).status).toBe(404);
  });
});
