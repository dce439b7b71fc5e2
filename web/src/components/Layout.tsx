import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { canStartRuns, useMe } from '../client/me.ts';
import { logout } from '../client/session.ts';
import { live, type SocketState } from '../client/socket.ts';
import { applyTheme, teamPref, themePref, type Theme } from '../prefs.ts';
import { Link, useLocation } from '../router.tsx';
import { MfaNotice } from './MfaNotice.tsx';

/**
 * The live connection's state. It keeps the socket open on every page (subscribed to the runs topic),
 * so "Live" means the same wherever the user starts, not only on pages that watch runs.
 */
function LiveIndicator() {
  const [state, setState] = useState<SocketState>(live.state);
  useEffect(() => {
    const stop = live.watchRuns(() => undefined);
    const off = live.onState(setState);
    return () => {
      off();
      stop();
    };
  }, []);
  const label = state === 'open' ? 'Live' : state === 'connecting' ? 'Connecting…' : 'Reconnecting…';
  return (
    <span class={`live live-${state}`} role="status" aria-live="polite" data-testid="live-state">
      {label}
    </span>
  );
}

export function Layout({ children }: { children: ComponentChildren }) {
  const me = useMe();
  const { path } = useLocation();
  const [team, setTeam] = teamPref.use();
  const [theme, setTheme] = themePref.use();
  useEffect(() => applyTheme(theme), [theme]);
  const teams = me?.teams ?? [];
  const canAdmin = me?.user.isAdmin || teams.some((t) => t.permissions.includes('team:manage'));
  const nav = (href: string, label: string) => (
    <Link href={href} aria-current={path === href ? 'page' : undefined}>
      {label}
    </Link>
  );
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <Link href="/" class="brand">
          OpsSight
        </Link>
        <nav aria-label="Main">
          {nav('/', 'Runs')}
          {canStartRuns(me) && nav('/runs/new', 'Start a run')}
          {nav('/schedules', 'Schedules')}
          {nav('/costs', 'Costs')}
          {nav('/metrics', 'Metrics')}
          {nav('/alerts', 'Alerts')}
          {nav('/integrations', 'Integrations')}
          {canAdmin && (
            <Link href="/admin" aria-current={path.startsWith('/admin') && path !== '/admin/sign-in' ? 'page' : undefined}>
              Admin
            </Link>
          )}
          {me?.user.isAdmin && nav('/admin/sign-in', 'Sign-in')}
          {nav('/account', 'Account')}
          <a href="/api/v1/docs" target="_blank" rel="noopener">
            API docs
          </a>
        </nav>
        <div class="topbar-tools">
          <LiveIndicator />
          <label class="compact">
            <span class="sr-only">Team</span>
            <select value={team} onChange={(e) => setTeam(e.currentTarget.value)} data-testid="team-switcher" aria-label="Team">
              <option value="">All teams</option>
              {(me?.choices ?? []).map((t) => (
                <option value={t.slug} key={t.slug}>
                  {t.name} ({t.role ?? 'platform admin'})
                </option>
              ))}
            </select>
          </label>
          <label class="compact">
            <span class="sr-only">Theme</span>
            <select value={theme} onChange={(e) => setTheme(e.currentTarget.value as Theme)} aria-label="Theme">
              <option value="system">System theme</option>
              <option value="light">Light</option>
              <option value="dark">Dark</option>
            </select>
          </label>
          <span class="who" title={me?.user.email}>
            {me?.user.name ?? ''}
          </span>
          <button type="button" class="secondary" onClick={() => void logout()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <MfaNotice />
        {children}
      </main>
    </>
  );
}
