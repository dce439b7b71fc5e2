import { useEffect, useState } from 'preact/hooks';
import { api, get, post, query } from '../client/http.ts';
import { refreshMe, useMe } from '../client/me.ts';
import { ActionMessage } from '../components/ActionMessage.tsx';
import { AdminNav } from '../components/AdminNav.tsx';
import { EffectivePermissions } from '../components/EffectivePermissions.tsx';
import { TextField } from '../components/TextField.tsx';
import { useApiAction } from '../form/use-api-action.ts';
import { AdminMembers, type TeamItem } from './AdminMembers.tsx';
import { AdminTeamSettings } from './AdminTeamSettings.tsx';

type UserItem = { id: string; email: string; name: string; isAdmin: boolean; disabled: boolean; passwordChangeRequired: boolean; createdAt: string };

/** A readable one-time password for an invited user (crypto-random, 16 characters). */
function generatePassword(): string {
  const alphabet = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => alphabet[b % alphabet.length]).join('');
}

/** Disable / enable a user, reset their password (a new one-time password, shown once here), remove their second factor. */
function UserActions({ user, self, onChanged, onInspect }: { user: UserItem; self: boolean; onChanged: () => void; onInspect: () => void }) {
  const action = useApiAction();
  const patch = (body: object, done: string) =>
    action.run(async () => {
      await api('PATCH', `/api/v1/users/${user.id}`, body);
      onChanged();
      return done;
    });
  const reset = () => {
    if (!confirm(`Reset the password of ${user.email}? Their sessions end, and they must choose a new password at their next sign-in.`)) return;
    const password = generatePassword();
    void patch({ password }, `New one-time password for ${user.email}: ${password}`);
  };
  const removeMfa = () => {
    if (!confirm(`Remove the two-factor authentication of ${user.email}? Their next sign-in asks only for the password; teams that require it hold them back until they set it up again.`)) return;
    void patch({ removeMfa: true }, `Two-factor authentication removed for ${user.email}.`);
  };
  return (
    <>
      <div class="actions">
        <button type="button" class="secondary small" disabled={self} onClick={() => void patch({ disabled: !user.disabled }, `${user.email} ${user.disabled ? 'enabled' : 'disabled; their sessions ended'}.`)}>
          {user.disabled ? 'Enable' : 'Disable'}
          <span class="sr-only"> {user.email}</span>
        </button>
        <button type="button" class="secondary small" onClick={reset}>
          Reset password<span class="sr-only"> of {user.email}</span>
        </button>
        <button type="button" class="secondary small" onClick={removeMfa}>
          Remove 2FA<span class="sr-only"> of {user.email}</span>
        </button>
        <button type="button" class="secondary small" onClick={onInspect}>
          Permissions<span class="sr-only"> of {user.email}</span>
        </button>
      </div>
      <ActionMessage message={action.message} ok={action.ok} />
    </>
  );
}

/** Teams, users and memberships: platform admins create teams and users, team admins set roles and team settings. */
export function AdminPage() {
  const me = useMe();
  const [teams, setTeams] = useState<TeamItem[]>([]);
  const [users, setUsers] = useState<UserItem[]>([]);
  const [usersNext, setUsersNext] = useState<string | null>(null);
  const [inspected, setInspected] = useState<string | null>(null);
  const platform = me?.user.isAdmin ?? false;

  const loadTeams = () => get<{ items: TeamItem[] }>('/api/v1/teams').then((r) => setTeams(r.items), () => undefined);
  const loadUsers = (cursor?: string) =>
    get<{ items: UserItem[]; nextCursor: string | null }>(`/api/v1/users${query({ limit: 50, cursor })}`).then((r) => {
      setUsers((u) => (cursor ? [...u, ...r.items] : r.items));
      setUsersNext(r.nextCursor);
    }, () => undefined);

  // The panel opens above the tables: take the reader there.
  useEffect(() => {
    if (inspected) requestAnimationFrame(() => document.getElementById('inspected-title')?.focus());
  }, [inspected]);

  useEffect(() => {
    void loadTeams();
    if (platform) void loadUsers();
  }, [platform]);

  if (!me) return <p aria-busy="true">Loading…</p>;
  const managed = teams.filter((t) => platform || me.teams.some((m) => m.slug === t.slug && m.permissions.includes('team:manage')));

  return (
    <section aria-labelledby="admin-title">
      <h1 id="admin-title">Administration</h1>
      <AdminNav />
      <div class="admin-grid">
        {platform && (
          <CreateTeam
            onCreated={() => {
              void loadTeams();
              refreshMe();
            }}
          />
        )}
        {platform && <InviteUser onCreated={() => void loadUsers()} />}
      </div>
      <AdminMembers teams={managed} onInspect={platform ? setInspected : undefined} />
      {platform && inspected && (
        <section class="card" aria-labelledby="inspected-title" id="inspected">
          <h2 id="inspected-title" tabIndex={-1}>
            Effective permissions
          </h2>
          <EffectivePermissions key={inspected} userId={inspected} caption="What the user may do in each team" />
          <button type="button" class="secondary small" onClick={() => setInspected(null)}>
            Close
          </button>
        </section>
      )}
      <AdminTeamSettings teams={managed} />
      {platform && (
        <section class="card" aria-labelledby="users-title">
          <h2 id="users-title">Users</h2>
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Email</th>
                  <th scope="col">Name</th>
                  <th scope="col">Platform admin</th>
                  <th scope="col">Status</th>
                  <th scope="col">
                    <span class="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {users.map((u) => (
                  <tr key={u.id}>
                    <td data-label="Email">{u.email}</td>
                    <td data-label="Name">{u.name}</td>
                    <td data-label="Platform admin">{u.isAdmin ? 'yes' : 'no'}</td>
                    <td data-label="Status">{u.disabled ? 'disabled' : u.passwordChangeRequired ? 'active, must set a password' : 'active'}</td>
                    <td>
                      <UserActions user={u} self={u.id === me.user.id} onChanged={() => void loadUsers()} onInspect={() => setInspected(u.id)} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {usersNext && (
            <button type="button" class="secondary" onClick={() => void loadUsers(usersNext)}>
              Load more users
            </button>
          )}
        </section>
      )}
    </section>
  );
}

function CreateTeam({ onCreated }: { onCreated: () => void }) {
  const [slug, setSlug] = useState('');
  const [name, setName] = useState('');
  const { errors, message, ok, submit } = useApiAction();
  const create = submit(async () => {
    await post('/api/v1/teams', { slug, name });
    setSlug('');
    setName('');
    onCreated();
    return `Team ${slug} created.`;
  });
  return (
    <form class="card" onSubmit={create} aria-labelledby="new-team-title">
      <h2 id="new-team-title">Create a team</h2>
      <ActionMessage message={message} ok={ok} />
      <TextField id="team-slug" label="Slug" field="slug" value={slug} onInput={setSlug} errors={errors} placeholder="platform-team" />
      <TextField id="team-name" label="Name" field="name" value={name} onInput={setName} errors={errors} />
      <button type="submit">Create team</button>
    </form>
  );
}

function InviteUser({ onCreated }: { onCreated: () => void }) {
  const [email, setEmail] = useState('');
  const [name, setName] = useState('');
  const [password, setPassword] = useState(generatePassword);
  const [isAdmin, setIsAdmin] = useState(false);
  const { errors, message, ok, submit } = useApiAction();
  const invite = submit(async () => {
    await post('/api/v1/users', { email, name, password, isAdmin });
    setEmail('');
    setName('');
    setPassword(generatePassword());
    setIsAdmin(false);
    onCreated();
    return `Created ${email}. Send them this one-time password (it works once; they then choose their own): ${password}`;
  });
  return (
    <form class="card" onSubmit={invite} aria-labelledby="invite-title">
      <h2 id="invite-title">Invite a user</h2>
      <ActionMessage message={message} ok={ok} />
      <TextField id="invite-email" label="Email" field="email" type="email" value={email} onInput={setEmail} errors={errors} />
      <TextField id="invite-name" label="Name" field="name" value={name} onInput={setName} errors={errors} />
      <TextField id="invite-password" label="Initial password" field="password" value={password} onInput={setPassword} errors={errors} spellcheck={false}>
        <button type="button" class="secondary small" onClick={() => setPassword(generatePassword())}>
          Generate
        </button>
      </TextField>
      <label class="label inline checkbox">
        <input type="checkbox" checked={isAdmin} onChange={(e) => setIsAdmin(e.currentTarget.checked)} />
        Platform administrator
      </label>
      <button type="submit">Create user</button>
    </form>
  );
}
