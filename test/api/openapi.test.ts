import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { adminRoutes } from '../../api/routes/admin.ts';
import { authRoutes } from '../../api/routes/auth.ts';
import { openApiRoutes } from '../../api/routes/openapi.ts';
import { hardenInput } from '../../api/openapi/builder.ts';
import { kindParamsComponent } from '../../api/openapi/document.ts';
import { runRoutes } from '../../api/routes/runs.ts';
import { integrationRoutes } from '../../api/routes/integrations.ts';
import { teamSettingsRoutes } from '../../api/routes/team-settings.ts';
import { KINDS } from '../../contracts/kinds/index.ts';
import { startApi, type TestApi } from '../peers/stack.ts';

type Doc = {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, { operationId: string; security: unknown[]; responses: Record<string, unknown>; parameters?: { name: string; in: string }[] }>>;
  components: { schemas: Record<string, Record<string, unknown>>; responses: Record<string, unknown>; securitySchemes: Record<string, unknown> };
};

let api: TestApi;
let doc: Doc;
beforeAll(async () => {
  api = await startApi();
  const res = await fetch(`${api.baseUrl}/api/v1/openapi.json`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/application\/json/);
  doc = (await res.json()) as Doc;
});
afterAll(() => api.close());

const operations = () => Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ path, method, op })));

describe('OpenAPI document', () => {
  it('is an OpenAPI 3.1 document with a bearer scheme and a problem+json error schema', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.title).toBe('OpsSight API');
    expect(doc.components.securitySchemes.bearerAuth).toEqual({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
    expect(doc.components.schemas.Problem).toMatchObject({ type: 'object', required: expect.arrayContaining(['type', 'title', 'status', 'detail']) });
    expect(doc.paths['/api/v1/auth/login']!.post!.responses['429']).toEqual({ $ref: '#/components/responses/TooManyRequests' });
    expect(doc.components.responses.TooManyRequests).toMatchObject({ headers: { 'Retry-After': expect.any(Object) } });
  });

  it('documents every route the API routers register', () => {
    const documented = new Set(operations().map(({ path, method }) => `${method.toUpperCase()} ${path.replace(/\{[^}]+\}/g, '{}')}`));
    const routers = [authRoutes(api.deps), adminRoutes(api.deps), teamSettingsRoutes(api.deps), runRoutes(api.deps), integrationRoutes(api.deps), openApiRoutes(api.deps)];
    const registered = routers.flatMap((r) =>
      r.stack.flatMap((layer) => layer.methods.filter((m) => m !== 'HEAD').map((m) => `${m} ${String(layer.path).replace(/:\w+/g, '{}')}`)),
    );
    expect(registered.length).toBeGreaterThan(10);
    expect(registered.filter((r) => !documented.has(r))).toEqual([]);
  });

  it('covers auth, admin and runs', () => {
    const have = operations().map(({ path, method }) => `${method.toUpperCase()} ${path}`);
    expect(have).toEqual(
      expect.arrayContaining([
        'POST /api/v1/auth/login', 'POST /api/v1/auth/refresh', 'POST /api/v1/auth/logout', 'GET /api/v1/me',
        'POST /api/v1/teams', 'GET /api/v1/teams', 'PUT /api/v1/teams/{slug}/members', 'DELETE /api/v1/teams/{slug}/members/{userId}',
        'POST /api/v1/users', 'GET /api/v1/users',
        'POST /api/v1/runs', 'GET /api/v1/runs', 'GET /api/v1/runs/{id}', 'POST /api/v1/runs/{id}/approve', 'POST /api/v1/runs/{id}/reject',
        'POST /api/v1/runs/{id}/cancel', 'GET /api/v1/runs/{id}/events', 'GET /api/v1/kinds',
      ]),
    );
    const ids = operations().map(({ op }) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('derives schemas from the zod schemas the API validates with, one component per kind', () => {
    for (const def of Object.values(KINDS)) {
      const name = kindParamsComponent(def.kind);
      const { $schema: _s, ...expected } = z.toJSONSchema(def.paramsSchema, { io: 'input' }) as Record<string, unknown>;
      // As the API accepts it: the same schema, NUL and "__proto__" excluded (hardenInput).
      expect(doc.components.schemas[name]).toEqual(hardenInput(expected));
    }
    expect(doc.components.schemas.LoginRequest).toMatchObject({ required: ['email', 'password'] });
    // One shape per kind: `params` is that kind's schema.
    const shapes = doc.components.schemas.StartRunRequest!.oneOf as { properties: { kind: { const: string }; params: { $ref: string } } }[];
    expect(shapes.map((s) => s.properties.kind.const)).toEqual(Object.keys(KINDS));
    expect(shapes[0]!.properties.params.$ref).toBe('#/components/schemas/TerraformParams');
    const listRuns = doc.paths['/api/v1/runs']!.get!.parameters!.map((p) => `${p.in}:${p.name}`);
    expect(listRuns).toEqual(expect.arrayContaining(['query:limit', 'query:cursor', 'query:status', 'query:team', 'query:workspace']));
  });

  it('marks which operations need a token, and every $ref resolves', () => {
    expect(doc.paths['/api/v1/auth/login']!.post!.security).toEqual([]);
    expect(doc.paths['/api/v1/runs']!.post!.security).toEqual([{ bearerAuth: [] }]);
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    expect(refs.length).toBeGreaterThan(20);
    for (const ref of refs) {
      const [, , section, name] = ref.slice(8, -1).split('/');
      expect((doc.components as Record<string, Record<string, unknown>>)[section!]?.[name!]).toBeDefined();
    }
  });
});

describe('docs page', () => {
  it('serves a self-contained page whose script renders openapi.json', async () => {
    const page = await fetch(`${api.baseUrl}/api/v1/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    const html = await page.text();
    expect(html).toContain('<script src="/api/v1/docs/app.js"');
    const script = await fetch(`${api.baseUrl}/api/v1/docs/app.js`);
    expect(script.headers.get('content-type')).toMatch(/javascript/);
    const js = await script.text();
    expect(js).toContain("fetch('/api/v1/openapi.json')");
    expect(js).not.toContain('innerHTML');
    // Nothing is loaded from elsewhere.
    expect(`${html}\n${js}`).not.toMatch(/(src|href)="https?:/);
    expect(() => new Function(js)).not.toThrow();
  });
});
