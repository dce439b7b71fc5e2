import { useState } from 'preact/hooks';
import { FileMapEditor } from './FileMapEditor.tsx';
import { KeyValueEditor } from './KeyValueEditor.tsx';
import { alternatives, fieldKind, initialValue, labelOf, variantOf, type JsonSchema, type Variant } from './json-schema.ts';

type Props = {
  schema: JsonSchema;
  value: Record<string, unknown>;
  onChange: (v: Record<string, unknown>) => void;
  /** Messages per top-level property, from the server's problem+json. */
  errors: Map<string, string[]>;
  idPrefix: string;
};

/** A form generated from an object JSON Schema: one labelled control per property, errors beside it. */
export function SchemaForm(props: Props) {
  const variant = variantOf(props.schema);
  return variant ? <VariantForm {...props} variant={variant} /> : <ObjectForm {...props} />;
}

/**
 * A discriminated union: the discriminator as a select, then the chosen branch's own fields. Switching
 * keeps what was typed into fields both branches have (the integration, the timeout).
 */
function VariantForm({ variant, value, onChange, errors, idPrefix }: Props & { variant: Variant }) {
  const { key, branches } = variant;
  const chosen = branches.find((b) => b.value === value[key]) ?? branches[0]!;
  const { [key]: _discriminator, ...fields } = chosen.schema.properties ?? {};
  const rest: JsonSchema = { ...chosen.schema, properties: fields, required: (chosen.schema.required ?? []).filter((n) => n !== key) };
  const id = `${idPrefix}-${key}`;
  const switchTo = (next: string) => {
    const branch = branches.find((b) => b.value === next)!.schema;
    // Only a field the two branches define alike (their help text aside): a Docker `env` is not a Kubernetes one.
    const shape = (s: JsonSchema | undefined) => JSON.stringify({ ...s, description: undefined, title: undefined });
    const alike = (name: string) => shape(branch.properties?.[name]) === shape(chosen.schema.properties?.[name]);
    const kept = Object.fromEntries(Object.entries(value).filter(([name]) => name !== key && name in (branch.properties ?? {}) && alike(name)));
    onChange({ ...initialValue(branch), ...kept, [key]: next });
  };
  const keyErrors = errors.get(key) ?? [];
  return (
    <>
      <div class={`field field-enum${keyErrors.length ? ' has-error' : ''}`} data-field={key}>
        <label for={id} class="label">
          {labelOf(key, {})}
          <span aria-hidden="true"> *</span>
        </label>
        <select id={id} name={key} required value={chosen.value} onChange={(e) => switchTo(e.currentTarget.value)} aria-invalid={keyErrors.length > 0 || undefined}>
          {branches.map((b) => (
            <option key={b.value} value={b.value}>
              {b.value}
            </option>
          ))}
        </select>
        {keyErrors.length > 0 && (
          <ul class="field-errors" role="alert">
            {keyErrors.map((m) => (
              <li key={m}>{m}</li>
            ))}
          </ul>
        )}
      </div>
      <ObjectForm key={chosen.value} schema={rest} value={value} onChange={onChange} errors={errors} idPrefix={idPrefix} />
    </>
  );
}

function ObjectForm({ schema, value, onChange, errors, idPrefix }: Props) {
  const required = new Set(schema.required ?? []);
  const choices = alternatives(schema);
  const chosen = choices?.find((n) => n in value) ?? choices?.[0];
  const choose = (name: string) => {
    const next = { ...value };
    for (const other of choices ?? []) delete next[other];
    const prop = schema.properties?.[name];
    next[name] = prop && fieldKind(name, prop).kind === 'object' ? initialValue(prop) : prop?.default ?? {};
    onChange(next);
  };
  return (
    <>
      {choices && (
        <fieldset class="field field-choice" data-field="choice">
          <legend class="label">Give one of</legend>
          {choices.map((name) => (
            <label class="inline" key={name}>
              <input type="radio" name={`${idPrefix}-choice`} value={name} checked={chosen === name} onChange={() => choose(name)} /> {labelOf(name, schema.properties?.[name] ?? {})}
            </label>
          ))}
        </fieldset>
      )}
      {Object.entries(schema.properties ?? {})
        .filter(([name]) => !choices || !choices.includes(name) || name === chosen)
        .map(([name, prop]) => (
          <Field
            key={name}
            id={`${idPrefix}-${name}`}
            name={name}
            schema={prop}
            required={required.has(name) || name === chosen}
            value={value[name]}
            onChange={(v) => onChange({ ...value, [name]: v })}
            errors={errors.get(name) ?? []}
          />
        ))}
    </>
  );
}

type FieldProps = { id: string; name: string; schema: JsonSchema; required: boolean; value: unknown; onChange: (v: unknown) => void; errors: string[] };

function Field({ id, name, schema, required, value, onChange, errors }: FieldProps) {
  const k = fieldKind(name, schema);
  const label = labelOf(name, schema);
  const errId = `${id}-error`;
  const helpId = `${id}-help`;
  const described = [schema.description ? helpId : '', errors.length ? errId : ''].filter(Boolean).join(' ') || undefined;
  const common = { id, name, 'aria-describedby': described, 'aria-invalid': errors.length > 0 || undefined, required };
  const grouped = k.kind === 'files' || k.kind === 'map' || k.kind === 'object';

  let control;
  switch (k.kind) {
    case 'enum':
      control = (
        <select {...common} value={String(value ?? '')} onChange={(e) => onChange(e.currentTarget.value || undefined)}>
          {!required && <option value="">—</option>}
          {k.options.map((o) => (
            <option key={o} value={o}>
              {o}
            </option>
          ))}
        </select>
      );
      break;
    case 'boolean':
      control = <input {...common} type="checkbox" checked={value === true} onChange={(e) => onChange(e.currentTarget.checked)} />;
      break;
    case 'number':
      control = (
        <input
          {...common}
          type="number"
          step={k.integer ? 1 : 'any'}
          min={schema.minimum}
          max={schema.maximum}
          value={value === undefined ? '' : String(value)}
          onInput={(e) => {
            const t = e.currentTarget.value;
            onChange(t === '' ? undefined : Number(t));
          }}
        />
      );
      break;
    case 'string':
      control = k.multiline ? (
        <textarea {...common} class="code" rows={6} value={String(value ?? '')} onInput={(e) => onChange(e.currentTarget.value)} />
      ) : (
        <input {...common} type="text" spellcheck={false} autocomplete="off" value={String(value ?? '')} onInput={(e) => onChange(e.currentTarget.value)} />
      );
      break;
    case 'files':
      control = <FileMapEditor id={id} label={label} value={(value as Record<string, string>) ?? {}} onChange={onChange} errors={errors} />;
      break;
    case 'map':
      control = <KeyValueEditor id={id} label={label} value={(value as Record<string, unknown>) ?? {}} valueTypes={k.valueTypes} onChange={onChange} />;
      break;
    case 'list':
      control = (
        <textarea
          {...common}
          rows={3}
          value={((value as unknown[]) ?? []).join('\n')}
          onInput={(e) => {
            const lines = e.currentTarget.value.split('\n').filter((l) => l !== '');
            onChange(k.itemType === 'string' ? lines : lines.map(Number));
          }}
        />
      );
      break;
    case 'object':
      control = (
        <div class="nested">
          <SchemaForm schema={schema} value={(value as Record<string, unknown>) ?? initialValue(schema)} onChange={onChange} errors={new Map()} idPrefix={id} />
        </div>
      );
      break;
    default:
      control = <JsonField common={common} value={value} onChange={onChange} />;
  }

  return (
    <div class={`field field-${k.kind}${errors.length ? ' has-error' : ''}`} data-field={name}>
      {grouped ? (
        <span class="label" id={`${id}-label`}>
          {label}
          {required && <span aria-hidden="true"> *</span>}
        </span>
      ) : (
        <label for={id} class={k.kind === 'boolean' ? 'label inline' : 'label'}>
          {label}
          {required && <span aria-hidden="true"> *</span>}
        </label>
      )}
      {control}
      {schema.description && (
        <p class="help" id={helpId}>
          {schema.description}
        </p>
      )}
      {errors.length > 0 && (
        <ul class="field-errors" id={errId} role="alert">
          {errors.map((m) => (
            <li key={m}>{m}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** Anything the generator has no editor for: raw JSON, parsed as the user types. */
function JsonField({ common, value, onChange }: { common: Record<string, unknown>; value: unknown; onChange: (v: unknown) => void }) {
  const [text, setText] = useState(() => (value === undefined ? '' : JSON.stringify(value, null, 2)));
  return (
    <textarea
      {...common}
      class="code"
      rows={4}
      value={text}
      onInput={(e) => {
        const t = e.currentTarget.value;
        setText(t);
        try {
          onChange(t.trim() === '' ? undefined : JSON.parse(t));
        } catch {
          onChange(t);
        }
      }}
    />
  );
}
