import { z } from 'zod';

type Json = Record<string, unknown>;
type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** A response: a named component schema, or none (204 and friends). */
export type ResponseSpec = { description: string; schema?: string; contentType?: string };

export type OperationSpec = {
  method: Method;
  path: string;
  operationId: string;
  summary: string;
  tag: string;
  /** Defaults to true: the operation needs a bearer access token. */
  auth?: boolean;
  /** Name of a component registered as a request body. */
  body?: string;
  /** The body may be left out (the route then uses the schema's defaults). */
  bodyOptional?: boolean;
  query?: z.ZodObject;
  /** The zod object the route parses ctx.params with. */
  params?: z.ZodObject;
  responses: Record<number, ResponseSpec>;
  /**
   * Error statuses particular to this operation (403, 404, 409 ...); each refers to the shared
   * problem+json response. What every operation of its shape can answer is added: 503 always; 401
   * and 429 with auth; 400 with a body, query or path parameters; 413 and 415 with a body.
   */
  errors?: number[];
};

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** Every error is RFC 9457 problem+json; `errors` names each bad field; more members may follow. */
export const problemSchema = z.looseObject({
  type: z.string(),
  title: z.string(),
  status: z.number().int().describe('the HTTP status, always'),
  detail: z.string(),
  instance: z.string(),
  errors: z.array(z.object({ field: z.string(), message: z.string() })).optional().describe('one entry per invalid field (400, 403, 409)'),
  runStatus: z.string().optional().describe('409 on a run: the status it is in'),
  activeRunId: z.uuid().nullable().optional().describe('409 on a busy target: the active run, when the caller may see it'),
});

const ERROR_RESPONSES: Record<number, [name: string, description: string]> = {
  400: ['BadRequest', 'the request failed validation; `errors` names each field'],
  401: ['Unauthenticated', 'missing, invalid, expired or revoked access token (or bad credentials)'],
  403: ['Forbidden', 'authenticated, but missing the permission'],
  404: ['NotFound', 'no such resource, or it belongs to a team the caller cannot see'],
  409: ['Conflict', 'conflicts with the current state (duplicate, busy target, run not waiting, a team’s last admin)'],
  413: ['PayloadTooLarge', 'the body exceeds BODY_LIMIT'],
  415: ['UnsupportedMediaType', 'the body’s charset or content encoding is not supported'],
  429: ['TooManyRequests', 'rate limit exceeded; retry after `Retry-After` seconds'],
  502: ['BadGateway', 'an identity provider is misconfigured or unreachable; `setting` names what to check'],
  503: ['Unavailable', 'PostgreSQL, Redis or Temporal is down or did not answer in time; retry after `Retry-After` seconds'],
};
const RETRY_AFTER = { 'Retry-After': { description: 'seconds to wait', schema: { type: 'integer' } } };

/** What the API refuses in any string, and any key, of what clients send (api/middleware/json-body.ts). */
const NO_NUL = '^[^\\u0000]*$';

const ANY_JSON = { $ref: '#/components/schemas/AnyJson' };
/** Any JSON value the API takes as an unnamed extra (it ignores them): no NUL and no "__proto__" key anywhere. */
const ANY_JSON_SCHEMA = {
  anyOf: [
    { type: ['null', 'boolean', 'number'] },
    { type: 'string', pattern: NO_NUL },
    { type: 'array', items: ANY_JSON },
    { type: 'object', propertyNames: { pattern: NO_NUL, not: { const: '__proto__' } }, additionalProperties: ANY_JSON },
  ],
};

/**
 * Makes a schema of client input say exactly what the API accepts: strings without a pattern get one
 * excluding NUL, property names may be neither "__proto__" nor contain NUL, extra properties (ignored)
 * follow the same rules, and where a pattern says what a string must look like, `format` goes
 * (validators differ on what a format allows; the pattern is the rule the API checks).
 */
export function hardenInput(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(hardenInput);
  if (!schema || typeof schema !== 'object') return schema;
  if (Object.keys(schema).length === 0 || Object.keys(schema).every((k) => k === 'description')) return { ...schema, ...ANY_JSON };
  const out: Json = Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, k === 'properties' || k === '$defs' ? mapValues(v as Json, hardenInput) : k === 'enum' || k === 'const' ? v : hardenInput(v)]));
  // `pattern` constrains only the string values of a multi-type (`["string", "number"]`) as well.
  if (out.type === 'string' || (Array.isArray(out.type) && out.type.includes('string'))) {
    if (out.pattern === undefined) out.pattern = NO_NUL;
    else delete out.format;
  }
  if (out.type === 'object') {
    const names = (out.propertyNames as Json | undefined) ?? {};
    out.propertyNames = { ...names, ...(names.pattern === undefined ? { pattern: NO_NUL } : {}), not: { const: '__proto__' } };
    if (out.additionalProperties === undefined || out.additionalProperties === true) out.additionalProperties = ANY_JSON;
  }
  return out;
}
const mapValues = (o: Json, fn: (v: unknown) => unknown): Json => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, fn(v)]));

/**
 * Collects zod schemas as named components (converted with z.toJSONSchema, JSON Schema 2020-12 as
 * OpenAPI 3.1 uses) and operations, and emits the OpenAPI 3.1 document.
 */
export class OpenApiBuilder {
  private readonly schemas: Record<string, Json> = {};
  private readonly paths: Record<string, Record<string, Json>> = {};

  constructor() {
    this.schema('Problem', problemSchema, 'output');
    this.component('AnyJson', ANY_JSON_SCHEMA);
  }

  /** `io: 'input'` for what clients send (defaults optional), `'output'` for what the API returns. */
  schema(name: string, schema: z.ZodType, io: 'input' | 'output'): this {
    const { $schema: _ignored, ...json } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Json;
    return this.component(name, io === 'input' ? (hardenInput(json) as Json) : json);
  }

  /** A component written as JSON Schema (for what zod cannot express, such as a choice keyed on a sibling). */
  component(name: string, json: Json): this {
    this.schemas[name] = json;
    return this;
  }

  /** Adjusts a registered component after conversion (for what zod cannot express). */
  patch(name: string, fn: (schema: Json) => void): this {
    const schema = this.schemas[name];
    if (!schema) throw new Error(`no schema component ${name}`);
    fn(schema);
    return this;
  }

  operation(op: OperationSpec): this {
    for (const name of [op.body, ...Object.values(op.responses).map((r) => r.schema)]) {
      if (name && !this.schemas[name]) throw new Error(`${op.operationId} refers to unknown schema ${name}`);
    }
    const parameters = [...parametersOf(op.params, 'path'), ...parametersOf(op.query, 'query')];
    const responses: Record<string, Json> = {};
    for (const [status, r] of Object.entries(op.responses)) {
      responses[status] = r.schema
        ? { description: r.description, content: { [r.contentType ?? 'application/json']: { schema: ref(r.schema) } } }
        : { description: r.description };
    }
    const errors = new Set([
      ...(op.errors ?? []),
      503,
      ...(op.auth === false ? [] : [401, 429]),
      ...(op.body || parameters.length ? [400] : []),
      ...(op.body ? [413, 415] : []),
    ]);
    for (const status of [...errors].sort()) {
      const known = ERROR_RESPONSES[status];
      if (!known) throw new Error(`${op.operationId}: no shared response for ${status}`);
      responses[status] = { $ref: `#/components/responses/${known[0]}` };
    }
    (this.paths[op.path] ??= {})[op.method] = {
      operationId: op.operationId,
      summary: op.summary,
      tags: [op.tag],
      ...(parameters.length ? { parameters } : {}),
      ...(op.body ? { requestBody: { required: !op.bodyOptional, content: { 'application/json': { schema: ref(op.body) } } } } : {}),
      responses,
      security: op.auth === false ? [] : [{ bearerAuth: [] }],
    };
    return this;
  }

  build(info: { title: string; version: string; description: string }, serverUrl: string): Json {
    const responses: Record<string, Json> = {};
    for (const [status, [name, description]] of Object.entries(ERROR_RESPONSES)) {
      responses[name] = {
        description,
        content: { 'application/problem+json': { schema: ref('Problem') } },
        ...(status === '429' || status === '503' ? { headers: RETRY_AFTER } : {}),
      };
    }
    return {
      openapi: '3.1.0',
      info,
      jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
      servers: [{ url: serverUrl }],
      paths: this.paths,
      components: {
        schemas: this.schemas,
        responses,
        securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      },
    };
  }
}

/** One parameter per property of the zod object the route parses ctx.query (or ctx.params) with. */
function parametersOf(schema: z.ZodObject | undefined, where: 'query' | 'path'): Json[] {
  if (!schema) return [];
  const json = hardenInput(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' })) as { properties?: Record<string, Json>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, schema]) => {
    const { description, ...rest } = schema;
    return { name, in: where, required: where === 'path' || (json.required?.includes(name) ?? false), ...(description ? { description } : {}), schema: rest };
  });
}
