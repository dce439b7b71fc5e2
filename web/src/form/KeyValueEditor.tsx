import { useState } from 'preact/hooks';
import type { Scalar } from './json-schema.ts';

type Row = { id: number; key: string; type: Scalar; text: string };
let nextId = 1;

function typeOf(v: unknown): Scalar {
  return typeof v === 'boolean' ? 'boolean' : typeof v === 'number' ? 'number' : 'string';
}

function valueOf(row: Row): unknown {
  if (row.type === 'boolean') return row.text === 'true';
  if (row.type === 'number' || row.type === 'integer') {
    const n = Number(row.text);
    // Not a number: sent as typed, so the server names the field instead of us guessing.
    return row.text.trim() !== '' && Number.isFinite(n) ? n : row.text;
  }
  return row.text;
}

/**
 * Editor for a map of name → scalar (e.g. Terraform variables). Rows are kept as typed, so a half-
 * written key or a duplicate survives until the user fixes it; the value sent is the rows with a key.
 */
export function KeyValueEditor(props: { id: string; label: string; value: Record<string, unknown>; valueTypes: Scalar[]; onChange: (v: Record<string, unknown>) => void }) {
  const { id, label, valueTypes } = props;
  const [rows, setRows] = useState<Row[]>(() =>
    Object.entries(props.value ?? {}).map(([key, v]) => ({ id: nextId++, key, type: typeOf(v), text: String(v) })),
  );
  const update = (next: Row[]) => {
    setRows(next);
    props.onChange(Object.fromEntries(next.filter((r) => r.key !== '').map((r) => [r.key, valueOf(r)])));
  };
  const patch = (rowId: number, change: Partial<Row>) => update(rows.map((r) => (r.id === rowId ? { ...r, ...change } : r)));
  const defaultType = valueTypes[0] ?? 'string';

  return (
    <div class="kv" id={id} role="group" aria-label={label}>
      {rows.length === 0 && <p class="muted small">None yet.</p>}
      {rows.map((r, i) => (
        <div class="kv-row" key={r.id}>
          <input aria-label={`${label} ${i + 1} name`} placeholder="name" value={r.key} onInput={(e) => patch(r.id, { key: e.currentTarget.value })} />
          {valueTypes.length > 1 && (
            <select aria-label={`${label} ${i + 1} type`} value={r.type} onChange={(e) => patch(r.id, { type: e.currentTarget.value as Scalar, text: e.currentTarget.value === 'boolean' ? 'false' : r.text })}>
              {valueTypes.map((t) => (
                <option value={t} key={t}>
                  {t}
                </option>
              ))}
            </select>
          )}
          {r.type === 'boolean' ? (
            <select aria-label={`${label} ${i + 1} value`} value={r.text} onChange={(e) => patch(r.id, { text: e.currentTarget.value })}>
              <option value="true">true</option>
              <option value="false">false</option>
            </select>
          ) : (
            <input
              aria-label={`${label} ${i + 1} value`}
              placeholder="value"
              inputMode={r.type === 'string' ? undefined : 'decimal'}
              value={r.text}
              onInput={(e) => patch(r.id, { text: e.currentTarget.value })}
            />
          )}
          <button type="button" class="icon" aria-label={`Remove ${label} ${r.key || i + 1}`} onClick={() => update(rows.filter((x) => x.id !== r.id))}>
            ✕
          </button>
        </div>
      ))}
      <button type="button" class="secondary small" onClick={() => update([...rows, { id: nextId++, key: '', type: defaultType, text: defaultType === 'boolean' ? 'false' : '' }])}>
        Add {label.toLowerCase().replace(/s$/, '')}
      </button>
    </div>
  );
}
