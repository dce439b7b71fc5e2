import coBody from 'co-body';
import type Koa from 'koa';
import { DomainError, InputError, type FieldError } from '../../core/errors.ts';

declare module 'koa' {
  interface Request {
    /** The parsed JSON body; undefined when none was sent (or not as JSON). */
    body?: unknown;
  }
}

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const MAX_REPORTED = 20;

/** A field name as clients see it: dotted path, NUL shown escaped. */
const fieldName = (path: string[]) => path.join('.').replaceAll('\0', '\\u0000') || '(body)';

/**
 * Values PostgreSQL or JavaScript cannot hold safely: NUL in any string (text and jsonb refuse it) and
 * a `__proto__` key (assigning it replaces an object's prototype). Found anywhere, with the path.
 */
function unsafeValues(value: unknown, path: string[], found: FieldError[]): void {
  if (found.length >= MAX_REPORTED) return;
  if (typeof value === 'string') {
    if (value.includes('\0')) found.push({ field: fieldName(path), message: 'must not contain NUL characters' });
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => unsafeValues(v, [...path, String(i)], found));
  } else if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      if (key === '__proto__') found.push({ field: fieldName([...path, key]), message: 'a "__proto__" key is not allowed' });
      else if (key.includes('\0')) found.push({ field: fieldName([...path, key]), message: 'names must not contain NUL characters' });
      else unsafeValues(v, [...path, key], found);
    }
  }
}

async function parse(ctx: Koa.Context, limit: string): Promise<unknown> {
  try {
    // 'ignore' keeps a "__proto__" key as a plain own property, so the check below can name where it was.
    return await coBody.json(ctx, { limit, strict: false, onProtoPoisoning: 'ignore' } as coBody.Options);
  } catch (err) {
    const status = (err as { status?: number }).status;
    if (status === 413) throw new DomainError(413, 'Payload too large', `the body exceeds the limit of ${limit}`);
    if (status === 415) throw new DomainError(415, 'Unsupported media type', (err as Error).message);
    throw new InputError('the body is not valid JSON', [{ field: '(body)', message: 'must be a JSON object' }]);
  }
}

/**
 * Parses JSON bodies (application/json and +json; other types are left unparsed) into
 * ctx.request.body. Answers 400 naming the field for what no route can use: a body that is not a JSON
 * object, NUL characters and "__proto__" keys anywhere in the body, NUL in query parameters.
 */
export function jsonBody(opts: { limit: string }): Koa.Middleware {
  return async (ctx, next) => {
    const found: FieldError[] = [];
    // ctx.query parses the query string: only when there is one.
    if (ctx.querystring) for (const [name, value] of Object.entries(ctx.query)) unsafeValues(value, [name], found);
    if (BODY_METHODS.has(ctx.method) && ctx.request.is('json', '+json') && ctx.request.length !== 0) {
      const body = await parse(ctx, opts.limit);
      if (body !== '') {
        if (body === null || typeof body !== 'object' || Array.isArray(body)) {
          throw new InputError('the body must be a JSON object', [{ field: '(body)', message: 'must be a JSON object' }]);
        }
        unsafeValues(body, [], found);
        ctx.request.body = body;
      }
    }
    if (found.length) throw new InputError('request validation failed', found);
    await next();
  };
}
