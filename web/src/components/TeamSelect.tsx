import { useEffect, useState } from 'preact/hooks';
import type { Me } from '../client/me.ts';
import { teamPref } from '../prefs.ts';

/**
 * The team a per-team page shows: the one picked in the top bar when the caller may act on it, else
 * their first. Kept per page (changing it here does not change the top bar's choice).
 */
export function usePageTeam(me: Me | null): [string, (slug: string) => void] {
  const [preferred] = teamPref.use();
  const [team, setTeam] = useState('');
  const teams = me?.choices ?? [];
  useEffect(() => {
    if (teams.length && !teams.some((t) => t.slug === team)) setTeam(teams.some((t) => t.slug === preferred) ? preferred : teams[0]!.slug);
  }, [me, preferred]);
  return [team, setTeam];
}

/** The page head's team picker; `label` names what the team is chosen for (for screen readers). */
export function TeamSelect({ me, team, onChange, label, testId }: { me: Me | null; team: string; onChange: (slug: string) => void; label: string; testId: string }) {
  return (
    <label class="compact">
      <span class="sr-only">Team</span>
      <select value={team} onChange={(e) => onChange(e.currentTarget.value)} aria-label={label} data-testid={testId}>
        {(me?.choices ?? []).map((t) => (
          <option key={t.slug} value={t.slug}>
            {t.name}
          </option>
        ))}
      </select>
    </label>
  );
}
