import { useEffect, useState } from 'preact/hooks';

type File = { id: number; name: string; text: string };
let nextId = 1;

/**
 * Editor for a map of file name → text (Terraform's `.tf` files): a tab per file, a name field and a
 * monospace text area. Files are kept in the order they were added.
 */
export function FileMapEditor(props: {
  id: string;
  label: string;
  value: Record<string, string>;
  onChange: (v: Record<string, string>) => void;
  suggestName?: string;
  errors?: string[];
}) {
  const { id, label } = props;
  const [files, setFiles] = useState<File[]>(() => {
    const entries = Object.entries(props.value ?? {});
    return entries.length ? entries.map(([name, text]) => ({ id: nextId++, name, text })) : [{ id: nextId++, name: props.suggestName ?? 'main.tf', text: '' }];
  });
  const [active, setActive] = useState(files[0]?.id ?? 0);
  const emit = (next: File[]) => props.onChange(Object.fromEntries(next.filter((f) => f.name !== '').map((f) => [f.name, f.text])));
  const update = (next: File[]) => {
    setFiles(next);
    emit(next);
  };
  // The form's value is what the editor shows from the start (the suggested main.tf), not {} until a first edit.
  useEffect(() => emit(files), []);
  // A file the server refused by name: its name box is the one marked.
  const badName = (name: string) => (props.errors ?? []).some((m) => m.includes(name));
  const current = files.find((f) => f.id === active) ?? files[0];
  const patch = (change: Partial<File>) => current && update(files.map((f) => (f.id === current.id ? { ...f, ...change } : f)));
  const add = () => {
    const f = { id: nextId++, name: `file${files.length + 1}.tf`, text: '' };
    update([...files, f]);
    setActive(f.id);
  };
  const remove = () => {
    if (!current) return;
    const rest = files.filter((f) => f.id !== current.id);
    update(rest);
    setActive(rest[0]?.id ?? 0);
  };
  const onTabKey = (e: KeyboardEvent, index: number) => {
    const step = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
    if (!step) return;
    e.preventDefault();
    const next = files[(index + step + files.length) % files.length];
    if (next) {
      setActive(next.id);
      document.getElementById(`${id}-tab-${next.id}`)?.focus();
    }
  };

  return (
    <div class="files" id={id} role="group" aria-label={label}>
      <div class="files-tabs" role="tablist" aria-label={`${label}: files`}>
        {files.map((f, i) => (
          <button
            type="button"
            role="tab"
            key={f.id}
            id={`${id}-tab-${f.id}`}
            aria-selected={f.id === current?.id}
            tabIndex={f.id === current?.id ? 0 : -1}
            onClick={() => setActive(f.id)}
            onKeyDown={(e) => onTabKey(e, i)}
          >
            {f.name || '(unnamed)'}
          </button>
        ))}
        <button type="button" class="secondary small" onClick={add}>
          Add file
        </button>
      </div>
      {current && (
        <div class="files-panel" role="tabpanel" aria-labelledby={`${id}-tab-${current.id}`}>
          <div class="files-name">
            <label>
              File name
              <input
                value={current.name}
                onInput={(e) => patch({ name: e.currentTarget.value.trim() })}
                name={`${id}-name`}
                spellcheck={false}
                aria-invalid={badName(current.name) || undefined}
              />
            </label>
            <button type="button" class="secondary small" onClick={remove} disabled={files.length === 0}>
              Remove file
            </button>
          </div>
          <label class="sr-only" for={`${id}-text-${current.id}`}>
            Contents of {current.name}
          </label>
          <textarea
            id={`${id}-text-${current.id}`}
            class="code"
            rows={14}
            spellcheck={false}
            value={current.text}
            onInput={(e) => patch({ text: e.currentTarget.value })}
          />
        </div>
      )}
    </div>
  );
}
