import { useEffect, useState } from 'preact/hooks';
import { ApiError, get } from '../client/http.ts';
import type { EffectivePermissions as Effective } from '../client/roles.ts';

/** A list of permission names, each as code. */
export function PermissionList({ items }: { items: string[] }) {
  return (
    <ul class="perm-list">
      {items.map((p) => (
        <li key={p}>
          <code>{p}</code>
        </li>
      ))}
    </ul>
  );
}

/**
 * What a user may do in each of their teams, as the API computes it (GET /users/{id}/permissions):
 * the role it comes from (a custom role replaces the built-in one), its permissions, approval limits,
 * and whether the team's MFA policy holds them back.
 */
export function EffectivePermissions({ userId, caption }: { userId: string; caption: string }) {
  const [data, setData] = useState<Effective | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    setData(null);
    setError(null);
    void get<Effective>(`/api/v1/users/${userId}/permissions`).then(setData, (e: unknown) => setError(e instanceof ApiError ? e.message : 'The server could not be reached.'));
  }, [userId]);
  if (error) return <p class="error" role="alert">{error}</p>;
  if (!data) return <p aria-busy="true">Loading…</p>;
  return (
    <div data-testid="effective-permissions">
      <p>
        <strong>{data.user.email}</strong>
        {data.user.isAdmin ? ' is a platform administrator: every team, every action.' : ''} · two-factor authentication {data.user.mfaEnrolled ? 'on' : 'not set up'}
      </p>
      {data.teams.length === 0 ? (
        <p class="muted">Not a member of any team.</p>
      ) : (
        <div class="table-wrap">
          <table>
            <caption class="sr-only">{caption}</caption>
            <thead>
              <tr>
                <th scope="col">Team</th>
                <th scope="col">Role</th>
                <th scope="col">Permissions</th>
                <th scope="col">Approvals limited to</th>
              </tr>
            </thead>
            <tbody>
              {data.teams.map((t) => (
                <tr key={t.id} data-testid={`effective-${t.slug}`}>
                  <td data-label="Team">{t.slug}</td>
                  <td data-label="Role">{t.customRole ? `${t.customRole.name} (custom; replaces ${t.role})` : t.role}</td>
                  <td data-label="Permissions">
                    <PermissionList items={t.permissions} />
                    {t.blockedByMfa && <p class="skipped small">Held back: the team requires two-factor authentication, so only reading is allowed until it is set up.</p>}
                  </td>
                  <td data-label="Approvals limited to">{t.approvalTargets ? t.approvalTargets.join(', ') : 'every run'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
