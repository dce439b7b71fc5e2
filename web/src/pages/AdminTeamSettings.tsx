import { useEffect, useState } from 'preact/hooks';
import { api, get } from '../client/http.ts';
import { refreshMe } from '../client/me.ts';
import { ActionMessage } from '../components/ActionMessage.tsx';
import { FieldMessage } from '../components/FieldMessage.tsx';
import { useApiAction } from '../form/use-api-action.ts';
import type { TeamItem } from './AdminMembers.tsx';

type Policy = { fourEyes: boolean; requireMfa: boolean };

/**
 * A team's access policy (PATCH /teams/{slug}/settings): whether members need a second factor to act,
 * and four-eyes approval. An admin without a second factor is warned that requiring one holds them
 * back too.
 */
export function AdminTeamSettings({ teams }: { teams: TeamItem[] }) {
  const [slug, setSlug] = useState('');
  const [saved, setSaved] = useState<Policy | null>(null);
  const [form, setForm] = useState<Policy>({ fourEyes: true, requireMfa: false });
  const [enrolled, setEnrolled] = useState(true);
  const action = useApiAction();
  const team = teams.find((t) => t.slug === slug) ?? teams[0];

  useEffect(() => void get<{ enrolled: boolean }>('/api/v1/me/mfa').then((s) => setEnrolled(s.enrolled), () => undefined), []);
  useEffect(() => {
    if (!team) return;
    setSaved(null);
    void get<Policy>(`/api/v1/teams/${team.slug}/settings`).then(
      (s) => {
        setSaved(s);
        setForm({ fourEyes: s.fourEyes, requireMfa: s.requireMfa });
      },
      () => undefined,
    );
  }, [team?.slug]);

  if (!team) return null;
  const save = action.submit(async () => {
    const next = await api<Policy>('PATCH', `/api/v1/teams/${team.slug}/settings`, form);
    setSaved(next);
    // The admin's own standing may change with it (an unenrolled admin requiring MFA).
    refreshMe();
    return `Settings of ${team.slug} saved: ${next.requireMfa ? 'two-factor authentication required' : 'two-factor authentication optional'}, four-eyes ${next.fourEyes ? 'on' : 'off'}.`;
  });
  return (
    <form class="card" onSubmit={save} aria-labelledby="team-settings-title">
      <h2 id="team-settings-title">Team settings</h2>
      <label class="label" for="settings-team">
        Team
      </label>
      <select id="settings-team" value={team.slug} onChange={(e) => setSlug(e.currentTarget.value)}>
        {teams.map((t) => (
          <option key={t.slug} value={t.slug}>
            {t.name} ({t.slug})
          </option>
        ))}
      </select>
      <ActionMessage message={action.message} ok={action.ok} />
      <label class="label inline checkbox">
        <input type="checkbox" checked={form.requireMfa} disabled={!saved} onChange={(e) => setForm({ ...form, requireMfa: e.currentTarget.checked })} aria-describedby="require-mfa-help require-mfa-err" />
        Require two-factor authentication
      </label>
      <p class="help" id="require-mfa-help">
        Members without an authenticator app set up may only see the team’s runs until they set one up. API tokens keep working.
      </p>
      <FieldMessage id="require-mfa-err" field="requireMfa" errors={action.errors} />
      {form.requireMfa && !saved?.requireMfa && !enrolled && (
        <p class="skipped small" role="status">
          You have not set up two-factor authentication yourself: once this is saved, you too may only read in {team.slug} until you do.
        </p>
      )}
      <label class="label inline checkbox">
        <input type="checkbox" checked={form.fourEyes} disabled={!saved} onChange={(e) => setForm({ ...form, fourEyes: e.currentTarget.checked })} aria-describedby="four-eyes-err" />
        Four-eyes: whoever requested a run may not approve it
      </label>
      <FieldMessage id="four-eyes-err" field="fourEyes" errors={action.errors} />
      <button type="submit" disabled={!saved}>
        Save settings
      </button>
    </form>
  );
}
