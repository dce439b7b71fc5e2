import { useEffect, useState } from 'preact/hooks';
import { ROLES, type Role } from '../../../contracts/permissions.ts';
import { del, get, put } from '../client/http.ts';
import { useRoles } from '../client/roles.ts';
import { ActionMessage } from '../components/ActionMessage.tsx';
import { FieldMessage } from '../components/FieldMessage.tsx';
import { useApiAction } from '../form/use-api-action.ts';

export type TeamItem = { id: string; slug: string; name: string; createdAt: string; role: Role | null };
type Member = { userId: string; email: string; name: string; role: Role; customRole: { id: string; name: string } | null; since: string };

/** What each role may do in its team (each includes the ones before it); the API's ROLE_PERMISSIONS decide. */
export const ROLE_HELP: Record<Role, string> = {
  viewer: 'sees the team’s runs, their logs and inputs',
  operator: 'a viewer who also starts runs, re-runs and cancels them',
  approver: 'an operator who also approves or rejects plans',
  admin: 'an approver who also adds members and sets their roles',
};

/**
 * Members of one team: add by email with a role, change a role in place, give a custom role (which
 * replaces the built-in one in this team), remove. `onInspect` (platform admins) shows a member's
 * effective permissions.
 */
export function AdminMembers({ teams, onInspect }: { teams: TeamItem[]; onInspect?: (userId: string) => void }) {
  const [slug, setSlug] = useState('');
  const [members, setMembers] = useState<Member[]>([]);
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [roles] = useRoles();
  const custom = (roles ?? []).filter((r) => !r.builtIn);
  const action = useApiAction();
  const { errors, message, ok } = action;
  const team = teams.find((t) => t.slug === slug) ?? teams[0];

  const load = () => {
    if (team) void get<{ items: Member[] }>(`/api/v1/teams/${team.slug}/members`).then((r) => setMembers(r.items), () => setMembers([]));
  };
  useEffect(load, [team?.slug]);

  /** Every change reloads the member list; `done` is what to tell the admin when it worked. */
  const run = (what: () => Promise<unknown>, done: string) =>
    action.run(async () => {
      await what();
      load();
      return done;
    });

  if (!team) return <p class="muted">You do not manage any team.</p>;
  return (
    <section class="card" aria-labelledby="members-title">
      <h2 id="members-title">Team members</h2>
      <label class="label" for="members-team">
        Team
      </label>
      <select id="members-team" value={team.slug} onChange={(e) => setSlug(e.currentTarget.value)}>
        {teams.map((t) => (
          <option key={t.slug} value={t.slug}>
            {t.name} ({t.slug})
          </option>
        ))}
      </select>
      <ActionMessage message={message} ok={ok} />
      <form
        class="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          void run(() => put(`/api/v1/teams/${team.slug}/members`, { email: email.trim(), role }), `${email} is now ${role} in ${team.slug}.`).then((ok) => ok && setEmail(''));
        }}
        aria-label={`Add a member to ${team.name}`}
      >
        <div>
          <label class="label" for="member-email">
            Email of an existing user
          </label>
          <input id="member-email" type="email" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} aria-describedby="member-email-err" />
          <FieldMessage id="member-email-err" field="email" errors={errors} />
        </div>
        <div>
          <label class="label" for="member-role">
            Role
          </label>
          <select id="member-role" value={role} onChange={(e) => setRole(e.currentTarget.value as Role)} aria-describedby="role-help">
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </div>
        <button type="submit">Add or update</button>
      </form>
      <dl class="roles small" id="role-help" data-testid="role-help">
        {ROLES.map((r) => (
          <div key={r}>
            <dt>{r}</dt>
            <dd>{ROLE_HELP[r]}</dd>
          </div>
        ))}
      </dl>
      <div class="table-wrap">
        <table>
          <caption class="sr-only">Members of {team.name}</caption>
          <thead>
            <tr>
              <th scope="col">Member</th>
              <th scope="col">Role</th>
              <th scope="col">Custom role</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {members.map((m) => (
              <tr key={m.userId}>
                <td data-label="Member">
                  {m.name} <span class="muted">{m.email}</span>
                </td>
                <td data-label="Role">
                  <select
                    aria-label={`Role of ${m.email}`}
                    value={m.role}
                    onChange={(e) => {
                      const next = e.currentTarget.value;
                      void run(() => put(`/api/v1/teams/${team.slug}/members`, { userId: m.userId, role: next }), `${m.email} is now ${next}.`);
                    }}
                  >
                    {ROLES.map((r) => (
                      <option key={r} value={r}>
                        {r}
                      </option>
                    ))}
                  </select>
                </td>
                <td data-label="Custom role">
                  <select
                    aria-label={`Custom role of ${m.email}`}
                    value={m.customRole?.id ?? ''}
                    onChange={(e) => {
                      const roleId = e.currentTarget.value || null;
                      const named = custom.find((r) => r.id === roleId)?.name;
                      void run(
                        () => put(`/api/v1/teams/${team.slug}/members/${m.userId}/role`, { roleId }),
                        named ? `${m.email} now holds the custom role ${named} in ${team.slug}.` : `${m.email} is back on the built-in role ${m.role} in ${team.slug}.`,
                      );
                    }}
                  >
                    <option value="">none: the built-in role applies</option>
                    {custom.map((r) => (
                      <option key={r.id} value={r.id}>
                        {r.name}
                      </option>
                    ))}
                  </select>
                </td>
                <td class="actions">
                  {onInspect && (
                    <button type="button" class="secondary small" onClick={() => onInspect(m.userId)}>
                      Permissions<span class="sr-only"> of {m.email}</span>
                    </button>
                  )}
                  <button
                    type="button"
                    class="secondary small"
                    onClick={() => confirm(`Remove ${m.email} from ${team.slug}?`) && void run(() => del(`/api/v1/teams/${team.slug}/members/${m.userId}`), `${m.email} removed.`)}
                  >
                    Remove<span class="sr-only"> {m.email}</span>
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
