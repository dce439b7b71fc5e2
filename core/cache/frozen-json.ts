/**
 * bentocache's serializer with the parse of each stored entry kept: its memory layer holds entries as
 * strings (byte-bounded, and no caller can change what another request gets), and a hit would
 * otherwise JSON.parse the whole entry again. A hit hands back the string instance the layer holds, so
 * the lookup costs a pointer comparison. Parsed values are deep-frozen: shared between requests,
 * a caller changing one throws instead of changing what the next request sees.
 */
export function frozenJsonSerializer(maxEntries = 512) {
  const parsed = new Map<string, unknown>();
  return {
    serialize: (value: unknown) => JSON.stringify(value),
    deserialize(text: string): unknown {
      const hit = parsed.get(text);
      if (hit !== undefined) {
        // Most recently used last, so the oldest is the first key.
        parsed.delete(text);
        parsed.set(text, hit);
        return hit;
      }
      const value = deepFreeze(JSON.parse(text));
      parsed.set(text, value);
      if (parsed.size > maxEntries) parsed.delete(parsed.keys().next().value!);
      return value;
    },
  };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
