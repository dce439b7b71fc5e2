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
  query?: z.ZodObject;
  pathParams?: Record<string, Json>;
  responses: Record<number, ResponseSpec>;
  /** Error statuses this operation can answer; each refers to the shared problem+json response. */
  errors?: number[];
};

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** Every error is RFC 9457 problem+json; `errors` names each bad field. */
export const problemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  instance: z.string(),
  errors: z.array(z.object({ field: z.string(), message: z.string() })).optional().describe('one entry per invalid field (400, 409)'),
});

const ERROR_RESPONSES: Record<number, [name: string, description: string]> = {
  400: ['BadRequest', 'the request failed validation; `errors` names each field'],
  401: ['Unauthenticated', 'missing, invalid, expired or revoked access token (or bad credentials)'],
  403: ['Forbidden', 'authenticated, but missing the permission'],
  404: ['NotFound', 'no such resource, or it belongs to a team the caller cannot see'],
  409: ['Conflict', 'conflicts with the current state (duplicate, busy target, run not waiting, a team’s last admin)'],
  413: ['PayloadTooLarge', 'the body exceeds BODY_LIMIT'],
  429: ['TooManyRequests', 'rate limit exceeded; retry after `Retry-After` seconds'],
};

/**
 * Collects zod schemas as named components (converted with z.toJSONSchema, JSON Schema 2020-12 as
 * OpenAPI 3.1 uses) and operations, and emits the OpenAPI 3.1 document.
 */
export class OpenApiBuilder {
  private readonly schemas: Record<string, Json> = {};
  private readonly paths: Record<string, Record<string, Json>> = {};

  constructor() {
    this.schema('Problem', problemSchema, 'output');
  }

  /** `io: 'input'` for what clients send (defaults optional), `'output'` for what the API returns. */
  schema(name: string, schema: z.ZodType, io: 'input' | 'output'): this {
    const { $schema: _ignored, ...json } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Json;
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
    const parameters = [
      ...Object.entries(op.pathParams ?? {}).map(([name, schema]) => ({ name, in: 'path', required: true, schema })),
      ...queryParameters(op.query),
    ];
    const responses: Record<string, Json> = {};
    for (const [status, r] of Object.entries(op.responses)) {
      responses[status] = r.schema
        ? { description: r.description, content: { [r.contentType ?? 'application/json']: { schema: ref(r.schema) } } }
        : { description: r.description };
    }
    const errors = new Set([...(op.errors ?? []), ...(op.auth === false ? [] : [401, 429])]);
    for (const status of [...errors].sort()) responses[status] = { $ref: `#/components/responses/${ERROR_RESPONSES[status]![0]}` };
    (this.paths[op.path] ??= {})[op.method] = {
      operationId: op.operationId,
      summary: op.summary,
      tags: [op.tag],
      ...(parameters.length ? { parameters } : {}),
      ...(op.body ? { requestBody: { required: true, content: { 'application/json': { schema: ref(op.body) } } } } : {}),
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
        ...(status === '429' ? { headers: { 'Retry-After': { description: 'seconds to wait', schema: { type: 'integer' } } } } : {}),
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

/** One query parameter per property of the zod object the route parses ctx.query with. */
function queryParameters(query: z.ZodObject | undefined): Json[] {
  if (!query) return [];
  const json = z.toJSONSchema(query, { io: 'input', unrepresentable: 'any' }) as { properties?: Record<string, Json>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, schema]) => {
    const { description, ...rest } = schema;
    return { name, in: 'query', required: json.required?.includes(name) ?? false, ...(description ? { description } : {}), schema: rest };
  });
}
