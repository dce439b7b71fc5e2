import { useState } from 'preact/hooks';
import { del, query } from '../client/http.ts';
import { useMe } from '../client/me.ts';
import { usePermissionCatalogue, useRoles, type RoleItem } from '../client/roles.ts';
import { ActionMessage } from '../components/ActionMessage.tsx';
import { AdminNav } from '../components/AdminNav.tsx';
import { PermissionList } from '../components/EffectivePermissions.tsx';
import { useApiAction } from '../form/use-api-action.ts';
import { Link } from '../router.tsx';
import { RoleForm } from './RoleForm.tsx';

/**
 * Roles: the built-in ones and the custom ones (sets of permissions), which platform admins define,
 * change and delete; team admins assign them per member on the Teams and members page, where platform
 * admins also see any user's effective permissions.
 */
export function RolesPage() {
  const me = useMe();
  const [roles, reload] = useRoles();
  const catalogue = usePermissionCatalogue();
  const [editing, setEditing] = useState<string | null>(null);
  const action = useApiAction();
  const platform = me?.user.isAdmin ?? false;

  const remove = (r: RoleItem) => {
    if (!confirm(`Delete the role ${r.name}? Members holding it go back to their built-in role.`)) return;
    void action.run(async () => {
      await del(`/api/v1/roles/${r.id}`);
      reload();
      return `Role ${r.name} deleted; its holders are back on their built-in roles.`;
    });
  };

  if (!me || !roles) return <p aria-busy="true">Loading…</p>;
  const editingRole = roles.find((r) => r.id === editing);
  return (
    <section aria-labelledby="roles-title">
      <h1 id="roles-title">Roles</h1>
      <AdminNav />
      <section class="card" aria-labelledby="roles-list-title">
        <h2 id="roles-list-title">Built-in and custom roles</h2>
        <p class="help">A custom role given to a member replaces what their built-in role grants in that team. Assign roles under Teams and members.</p>
        <ActionMessage message={action.message} ok={action.ok} />
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Role</th>
                <th scope="col">Permissions</th>
                <th scope="col">Approvals limited to</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {roles.map((r) => (
                <tr key={r.id} data-testid={`role-${r.name}`}>
                  <td data-label="Role">
                    <strong>{r.name}</strong> <span class="muted small">{r.builtIn ? 'built-in' : 'custom'}</span>
                    {r.description && <div class="muted small">{r.description}</div>}
                  </td>
                  <td data-label="Permissions">
                    <PermissionList items={r.permissions} />
                  </td>
                  <td data-label="Approvals limited to">{r.approvalTargets ? r.approvalTargets.join(', ') : '—'}</td>
                  <td class="actions">
                    {!r.builtIn && platform && (
                      <>
                        <button type="button" class="secondary small" onClick={() => setEditing(r.id)}>
                          Edit<span class="sr-only"> {r.name}</span>
                        </button>
                        <button type="button" class="danger small" onClick={() => remove(r)}>
                          Delete<span class="sr-only"> {r.name}</span>
                        </button>
                      </>
                    )}
                    {!r.builtIn && (
                      <Link href={`/admin/audit${query({ targetType: 'role', targetId: r.id })}`} class="button secondary small">
                        History<span class="sr-only"> of {r.name}</span>
                      </Link>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
      {platform && editingRole && (
        <RoleForm
          key={editingRole.id}
          catalogue={catalogue}
          editing={editingRole}
          onSaved={() => {
            setEditing(null);
            reload();
          }}
          onCancel={() => setEditing(null)}
        />
      )}
      {platform && !editingRole && <RoleForm catalogue={catalogue} onSaved={reload} />}
    </section>
  );
}
