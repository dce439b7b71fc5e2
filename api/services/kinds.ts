import { z } from 'zod';
import { KINDS } from '../../contracts/kinds/index.ts';

let kinds: Buffer | undefined;

/**
 * Each kind with the JSON Schema of its params, derived from the zod schema the API validates with.
 * The kinds are code, so this is built once (at start, or on first use: zod → JSON Schema is far too
 * slow to redo per request) and the same bytes answer every request after.
 */
export const kindsBody = (): Buffer =>
  (kinds ??= jsonBytes({
    kinds: Object.values(KINDS).map((k) => ({
      kind: k.kind,
      title: k.title,
      description: k.description,
      approval: k.approval,
      summary: k.summary,
      paramsSchema: z.toJSONSchema(k.paramsSchema, { io: 'input' }),
    })),
  }));

const jsonBytes = (value: unknown) => Buffer.from(JSON.stringify(value));
