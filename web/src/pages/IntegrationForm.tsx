import { useEffect, useState } from 'preact/hooks';
import type { IntegrationView } from '../../../contracts/integrations/index.ts';
import { ApiError, api, type FieldError } from '../client/http.ts';
import { SchemaForm } from '../form/SchemaForm.tsx';
import { errorsByField, initialValue, labelOf, type JsonSchema } from '../form/json-schema.ts';

export type IntegrationTypeInfo = { type: string; title: string; settingsSchema: JsonSchema; secretsSchema: JsonSchema };

type Props = {
  types: IntegrationTypeInfo[];
  team: string;
  /** The integration being edited; undefined = create a new one. */
  editing?: IntegrationView;
  onSaved: (saved: IntegrationView) => void;
  onCancel?: () => void;
};

/**
 * Create or edit an integration: settings from the type's JSON Schema, secrets as write-only fields
 * (a pasted key in a text area, passphrases and tokens masked). Editing never shows stored secrets:
 * leaving them all empty keeps them.
 */
export function IntegrationForm({ types, team, editing, onSaved, onCancel }: Props) {
  const [type, setType] = useState(editing?.type ?? types[0]?.type ?? '');
  const info = types.find((t) => t.type === type);
  const [name, setName] = useState(editing?.name ?? '');
  const [settings, setSettings] = useState<Record<string, unknown>>(editing?.settings ?? {});
  const [secrets, setSecrets] = useState<Record<string, string>>({});
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const id = editing ? `edit-${editing.id.slice(0, 8)}` : 'new';

  useEffect(() => {
    if (!editing && info) setSettings(initialValue(info.settingsSchema));
    setSecrets({});
  }, [type]);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setProblem(null);
    const given = Object.fromEntries(Object.entries(secrets).filter(([, v]) => v !== ''));
    try {
      const saved = editing
        ? await api<IntegrationView>('PATCH', `/api/v1/integrations/${editing.id}`, { name, settings, ...(Object.keys(given).length ? { secrets: given } : {}) })
        : await api<IntegrationView>('POST', '/api/v1/integrations', { team, type, name, settings, secrets: given });
      setErrors([]);
      setSecrets({});
      if (!editing) setName('');
      onSaved(saved);
    } catch (err) {
      const apiErr = err instanceof ApiError ? err : null;
      setErrors(apiErr?.errors ?? []);
      setProblem(apiErr?.status === 400 ? 'Not saved: fix the fields marked below.' : (err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const messages = (field: string) => errors.filter((er) => er.field === field).map((er) => er.message);
  const secretErrors = errorsByField(errors, 'secrets');
  return (
    <form class="card" onSubmit={(e) => void submit(e)} noValidate aria-labelledby={`${id}-title`} data-testid={`integration-form-${id}`}>
      <h2 id={`${id}-title`}>{editing ? `Edit ${editing.name}` : 'Add an integration'}</h2>
      {problem && (
        <p class="error" role="alert">
          {problem}
        </p>
      )}
      {!editing && (
        <div class="field">
          <label class="label" for={`${id}-type`}>
            Type
          </label>
          <select id={`${id}-type`} value={type} onChange={(e) => setType(e.currentTarget.value)}>
            {types.map((t) => (
              <option key={t.type} value={t.type}>
                {t.title}
              </option>
            ))}
          </select>
        </div>
      )}
      <div class={`field${messages('name').length ? ' has-error' : ''}`}>
        <label class="label" for={`${id}-name`}>
          Name
        </label>
        <input id={`${id}-name`} type="text" required value={name} onInput={(e) => setName(e.currentTarget.value)} aria-describedby={`${id}-name-err`} />
        <ErrorList id={`${id}-name-err`} messages={messages('name')} />
      </div>
      {info && (
        <>
          <fieldset>
            <legend>Settings</legend>
            <SchemaForm key={type} schema={info.settingsSchema} value={settings} onChange={setSettings} errors={errorsByField(errors, 'settings')} idPrefix={`${id}-setting`} />
          </fieldset>
          <fieldset>
            <legend>Secrets</legend>
            <p class="help">{editing ? 'Stored encrypted and never shown again. Leave every field empty to keep the stored secrets; fill them to replace all of them.' : 'Stored encrypted and never shown again.'}</p>
            {Object.entries(info.secretsSchema.properties ?? {}).map(([field, schema]) => (
              <SecretField key={`${type}-${field}`} id={`${id}-secret-${field}`} name={field} schema={schema} value={secrets[field] ?? ''} onInput={(v) => setSecrets({ ...secrets, [field]: v })} errors={secretErrors.get(field) ?? []} />
            ))}
            <ErrorList id={`${id}-secrets-err`} messages={secretErrors.get('') ?? []} />
          </fieldset>
        </>
      )}
      <div class="actions">
        <button type="submit" disabled={busy}>
          {busy ? 'Saving…' : editing ? 'Save changes' : 'Add integration'}
        </button>
        {onCancel && (
          <button type="button" class="secondary" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}

type SecretProps = { id: string; name: string; schema: JsonSchema; value: string; onInput: (v: string) => void; errors: string[] };

/** A key is pasted into a text area; short secrets (passphrase, token) are masked. Neither is autofilled or spellchecked. */
function SecretField({ id, name, schema, value, onInput, errors }: SecretProps) {
  // Only a key file is long enough to need lines (16 KiB); passphrases and tokens stay one masked line.
  const multiline = (schema.maxLength ?? 0) > 4096;
  const common = { id, name, value, autocomplete: 'off', spellcheck: false, 'aria-describedby': `${id}-err`, 'aria-invalid': errors.length > 0 || undefined, onInput: (e: Event) => onInput((e.currentTarget as HTMLInputElement).value) };
  return (
    <div class={`field${errors.length ? ' has-error' : ''}`} data-field={name}>
      <label class="label" for={id}>
        {labelOf(name, schema)}
      </label>
      {multiline ? <textarea {...common} class="code" rows={6} placeholder="-----BEGIN OPENSSH PRIVATE KEY-----" /> : <input {...common} type="password" />}
      {schema.description && <p class="help">{schema.description}</p>}
      <ErrorList id={`${id}-err`} messages={errors} />
    </div>
  );
}

function ErrorList({ id, messages }: { id: string; messages: string[] }) {
  if (!messages.length) return null;
  return (
    <ul class="field-errors" id={id} role="alert">
      {messages.map((m) => (
        <li key={m}>{m}</li>
      ))}
    </ul>
  );
}
