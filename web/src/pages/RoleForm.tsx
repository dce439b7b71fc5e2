import { useState } from 'preact/hooks';
import { api, post, type FieldError } from '../client/http.ts';
import { groupPermissions, type PermissionItem, type RoleItem } from '../client/roles.ts';
import { ActionMessage } from '../components/ActionMessage.tsx';
import { FieldMessage } from '../components/FieldMessage.tsx';
import { useApiAction } from '../form/use-api-action.ts';

/** The API names a permission's error `permissions.<i>`, a target's `approvalTargets.<i>`: shown under the whole list. */
const under = (errors: FieldError[], field: string): FieldError[] =>
  errors.filter((e) => e.field === field || e.field.startsWith(`${field}.`)).map((e) => ({ field, message: e.field === field ? e.message : `${e.field.slice(field.length + 1)}: ${e.message}` }));

/**
 * Create a custom role, or edit one (its name stays: audit rows and mappings name it): a description,
 * the permissions as grouped checkboxes, and optionally the approval targets it is limited to.
 */
export function RoleForm({ catalogue, editing, onSaved, onCancel }: { catalogue: PermissionItem[]; editing?: RoleItem; onSaved: (r: RoleItem) => void; onCancel?: () => void }) {
  const [name, setName] = useState(editing?.name ?? '');
  const [description, setDescription] = useState(editing?.description ?? '');
  const [chosen, setChosen] = useState<Set<string>>(new Set(editing?.permissions ?? []));
  const [targets, setTargets] = useState((editing?.approvalTargets ?? []).join('\n'));
  const { errors, message, ok, submit } = useApiAction();
  const id = editing ? `role-${editing.id}` : 'role-new';

  const toggle = (p: string, on: boolean) => {
    const next = new Set(chosen);
    if (on) next.add(p);
    else next.delete(p);
    setChosen(next);
  };
  const save = submit(async () => {
    const list = targets.split('\n').map((t) => t.trim()).filter(Boolean);
    // Sent in catalogue order, so an error's index (`permissions.<i>`) is one the admin can find.
    const permissions = catalogue.map((c) => c.permission).filter((p) => chosen.has(p));
    const body = { description, permissions, approvalTargets: list.length ? list : null };
    const saved = editing ? await api<RoleItem>('PATCH', `/api/v1/roles/${editing.id}`, body) : await post<RoleItem>('/api/v1/roles', { name: name.trim(), ...body });
    if (!editing) {
      setName('');
      setDescription('');
      setChosen(new Set());
      setTargets('');
    }
    onSaved(saved);
    return editing ? `Role ${saved.name} saved.` : `Role ${saved.name} created.`;
  });

  return (
    <form class="card" onSubmit={save} aria-labelledby={`${id}-title`} data-testid={`${id}-form`} noValidate>
      <h2 id={`${id}-title`}>{editing ? `Edit ${editing.name}` : 'Create a custom role'}</h2>
      <ActionMessage message={message} ok={ok} />
      {!editing && (
        <div class="field">
          <label class="label" for={`${id}-name`}>
            Name
          </label>
          <input id={`${id}-name`} type="text" value={name} onInput={(e) => setName(e.currentTarget.value)} aria-describedby={`${id}-name-err`} aria-invalid={errors.some((e) => e.field === 'name') || undefined} />
          <FieldMessage id={`${id}-name-err`} field="name" errors={errors} />
        </div>
      )}
      <div class="field">
        <label class="label" for={`${id}-description`}>
          Description
        </label>
        <input id={`${id}-description`} type="text" value={description} onInput={(e) => setDescription(e.currentTarget.value)} aria-describedby={`${id}-description-err`} />
        <FieldMessage id={`${id}-description-err`} field="description" errors={errors} />
      </div>
      <fieldset aria-describedby={`${id}-permissions-err`}>
        <legend>Permissions</legend>
        <FieldMessage id={`${id}-permissions-err`} field="permissions" errors={under(errors, 'permissions')} />
        <div class="perm-groups">
          {groupPermissions(catalogue).map((g) => (
            <fieldset key={g.title}>
              <legend>{g.title}</legend>
              {g.items.map((p) => (
                <label class="label inline checkbox" key={p.permission}>
                  <input type="checkbox" checked={chosen.has(p.permission)} onChange={(e) => toggle(p.permission, e.currentTarget.checked)} value={p.permission} />
                  <span>
                    <code>{p.permission}</code> <span class="muted">{p.description}</span>
                  </span>
                </label>
              ))}
            </fieldset>
          ))}
        </div>
      </fieldset>
      <div class="field">
        <label class="label" for={`${id}-targets`}>
          Limit approvals to these targets
        </label>
        <textarea id={`${id}-targets`} rows={3} value={targets} onInput={(e) => setTargets(e.currentTarget.value)} aria-describedby={`${id}-targets-help ${id}-targets-err`} />
        <p class="help" id={`${id}-targets-help`}>
          One Terraform workspace or deployment target per line. Empty: the approvals this role grants reach every run.
        </p>
        <FieldMessage id={`${id}-targets-err`} field="approvalTargets" errors={under(errors, 'approvalTargets')} />
      </div>
      <div class="actions">
        <button type="submit">{editing ? 'Save role' : 'Create role'}</button>
        {onCancel && (
          <button type="button" class="secondary" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}
