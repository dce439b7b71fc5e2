import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { z } from 'zod';
import { KINDS } from '../../contracts/kinds/index.ts';
import type { SameBytes } from '../middleware/compression.ts';

let kinds: SameBytes | undefined;

/**
 * Each kind with the JSON Schema of its params, derived from the zod schema the API validates with.
 * The kinds are code, so this is built once (at start, or on first use: zod → JSON Schema is far too
 * slow to redo per request) and the same bytes answer every request after. Compressed once here too:
 * the body is about 25 KB, and compressing it per request cost a browser's request twice the rest of it.
 */
export const kindsBody = (): SameBytes =>
  (kinds ??= encoded(
    jsonBytes({
      kinds: Object.values(KINDS).map((k) => ({
        kind: k.kind,
        title: k.title,
        description: k.description,
        approval: k.approval,
        summary: k.summary,
        paramsSchema: z.toJSONSchema(k.paramsSchema, { io: 'input' }),
      })),
    }),
  ));

const encoded = (identity: Buffer): SameBytes => ({
  identity,
  encoded: {
    br: brotliCompressSync(identity, { params: { [constants.BROTLI_PARAM_QUALITY]: 9, [constants.BROTLI_PARAM_SIZE_HINT]: identity.length } }),
    gzip: gzipSync(identity, { level: 9 }),
  },
});

const jsonBytes = (value: unknown) => Buffer.from(JSON.stringify(value));
