/**
 * The subset of JSON Schema (2020-12, as zod's toJSONSchema writes it) the generated run form
 * understands, and how each schema maps to an editor. A kind added later gets a form from its
 * schema alone; a shape not listed here falls back to a JSON text editor.
 */
export type JsonSchema = {
  type?: string | string[];
  title?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  format?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: JsonSchema | boolean;
  propertyNames?: JsonSchema;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
};

export type Scalar = 'string' | 'number' | 'integer' | 'boolean';
export type FieldKind =
  | { kind: 'enum'; options: string[] }
  | { kind: 'string'; multiline: boolean }
  | { kind: 'number'; integer: boolean }
  | { kind: 'boolean' }
  | { kind: 'files' }
  | { kind: 'map'; valueTypes: Scalar[] }
  | { kind: 'list'; itemType: Scalar }
  | { kind: 'object' }
  | { kind: 'json' };

const SCALARS: Scalar[] = ['string', 'number', 'integer', 'boolean'];

/** The scalar types a schema admits: `type: "x"`, `type: [..]`, or an anyOf/oneOf of those. */
export function scalarTypes(s: JsonSchema | undefined): Scalar[] {
  if (!s) return [];
  const branches = s.anyOf ?? s.oneOf;
  if (branches) return [...new Set(branches.flatMap(scalarTypes))];
  const types = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
  return types.filter((t): t is Scalar => (SCALARS as string[]).includes(t));
}

/** Large text values keyed by something that reads like a file name are a set of files. */
function looksLikeFiles(name: string, s: JsonSchema, value: JsonSchema): boolean {
  const text = `${name} ${s.title ?? ''} ${s.description ?? ''}`;
  return (value.maxLength === undefined || value.maxLength >= 4096) && /\bfiles?\b/i.test(text);
}

/**
 * A discriminated union: a `oneOf` of objects told apart by one property's `const` (a pipeline's
 * `provider`, a deploy target's `platform`). The form offers that property as a choice and then the
 * chosen branch's fields.
 */
export type Variant = { key: string; branches: Array<{ value: string; schema: JsonSchema }> };
export function variantOf(s: JsonSchema): Variant | null {
  const list = s.oneOf ?? s.anyOf;
  if (!list || list.length < 2 || !list.every((b) => b.properties)) return null;
  for (const key of Object.keys(list[0]!.properties!)) {
    const values = list.map((b) => b.properties?.[key]?.const);
    if (values.every((v): v is string => typeof v === 'string') && new Set(values).size === values.length) {
      return { key, branches: list.map((b, i) => ({ value: values[i]!, schema: b })) };
    }
  }
  return null;
}

/** The object schema `value` is filled against: a variant's chosen branch (the first while none is chosen), else `s`. */
export function effectiveSchema(s: JsonSchema, value: Record<string, unknown> | undefined): JsonSchema {
  const v = variantOf(s);
  if (!v) return s;
  return (v.branches.find((b) => b.value === value?.[v.key]) ?? v.branches[0]!).schema;
}

export function fieldKind(name: string, s: JsonSchema): FieldKind {
  if (variantOf(s)) return { kind: 'object' };
  if (s.enum && s.enum.every((v) => typeof v === 'string')) return { kind: 'enum', options: s.enum as string[] };
  const types = scalarTypes(s);
  if (s.properties) return { kind: 'object' };
  if (s.type === 'object' && typeof s.additionalProperties === 'object') {
    const valueTypes = scalarTypes(s.additionalProperties);
    if (valueTypes.length === 1 && valueTypes[0] === 'string' && looksLikeFiles(name, s, s.additionalProperties)) return { kind: 'files' };
    if (valueTypes.length > 0) return { kind: 'map', valueTypes };
  }
  if (s.type === 'array' && s.items) {
    const [itemType] = scalarTypes(s.items);
    if (itemType) return { kind: 'list', itemType };
  }
  if (types.length === 1) {
    const t = types[0]!;
    if (t === 'boolean') return { kind: 'boolean' };
    if (t === 'number' || t === 'integer') return { kind: 'number', integer: t === 'integer' };
    return { kind: 'string', multiline: (s.maxLength ?? 0) > 1000 };
  }
  return { kind: 'json' };
}

/**
 * Properties of which exactly one must be given (`oneOf: [{required: [a]}, {required: [b]}]`, e.g.
 * Terraform's inline `files` or a git `source`): the form offers a choice and sends only the chosen one.
 */
export function alternatives(s: JsonSchema): string[] | null {
  const names = (s.oneOf ?? []).map((b) => (Object.keys(b).length === 1 && b.required?.length === 1 ? b.required[0]! : null));
  return names.length > 1 && names.every((n): n is string => n !== null) ? names : null;
}

/** The form's starting value: each property's default, else an empty value of its kind (of alternatives, the first). */
export function initialValue(s: JsonSchema): Record<string, unknown> {
  const variant = variantOf(s);
  if (variant) return { ...initialValue(variant.branches[0]!.schema), [variant.key]: variant.branches[0]!.value };
  const out: Record<string, unknown> = {};
  const skipped = new Set(alternatives(s)?.slice(1));
  for (const [name, prop] of Object.entries(s.properties ?? {})) {
    if (skipped.has(name)) continue;
    if (prop.default !== undefined) {
      out[name] = structuredClone(prop.default);
      continue;
    }
    const k = fieldKind(name, prop);
    if (k.kind === 'boolean') out[name] = false;
    else if (k.kind === 'object') out[name] = initialValue(prop);
    else if (k.kind === 'files' || k.kind === 'map') out[name] = {};
    else if (k.kind === 'list') out[name] = [];
  }
  return out;
}

/** A readable label from a property name: `autoApply` → "Auto apply". */
export function labelOf(name: string, s: JsonSchema): string {
  if (s.title) return s.title;
  const words = name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/[_-]+/g, ' ').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Server field paths ("params.files.main.tf") → the top-level field they belong to. */
export function errorsByField(errors: { field: string; message: string }[], prefix: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const e of errors) {
    const path = e.field.startsWith(`${prefix}.`) ? e.field.slice(prefix.length + 1) : e.field === prefix ? '' : null;
    if (path === null) continue;
    const [head = '', ...rest] = path.split('.');
    const msg = rest.length ? `${rest.join('.')}: ${e.message}` : e.message;
    out.set(head, [...(out.get(head) ?? []), msg]);
  }
  return out;
}

/**
 * Required properties left empty ('' or nothing; an empty map of files), as the field errors the
 * server would name, in words: "Workspace is required" on that field alone.
 */
export function missingRequired(schema: JsonSchema, value: Record<string, unknown>, prefix: string): { field: string; message: string }[] {
  const s = effectiveSchema(schema, value);
  return (s.required ?? []).flatMap((name) => {
    const prop = s.properties?.[name] ?? {};
    const v = value[name];
    const k = fieldKind(name, prop);
    const empty = v === undefined || v === null || (typeof v === 'string' && v.trim() === '') || (k.kind === 'files' && Object.keys(v as object).length === 0);
    return empty ? [{ field: `${prefix}.${name}`, message: `${labelOf(name, prop)} is required` }] : [];
  });
}
