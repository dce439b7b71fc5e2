import { useEffect, useState } from 'preact/hooks';
import type { JsonSchema } from '../form/json-schema.ts';
import { get } from './http.ts';

export type KindInfo = { kind: string; title: string; description: string; approval: 'always' | 'optional' | 'never'; summary: string; paramsSchema: JsonSchema };

let cached: Promise<KindInfo[]> | null = null;

/** The kinds the API offers, each with its params JSON Schema (GET /api/v1/kinds), fetched once. */
export function useKinds(): KindInfo[] | null {
  const [kinds, setKinds] = useState<KindInfo[] | null>(null);
  useEffect(() => {
    cached ??= get<{ kinds: KindInfo[] }>('/api/v1/kinds').then(
      (r) => r.kinds,
      (err: unknown) => {
        cached = null;
        throw err;
      },
    );
    cached.then(setKinds, () => setKinds([]));
  }, []);
  return kinds;
}
