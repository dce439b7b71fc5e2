import { useEffect, useState } from 'preact/hooks';
import type { Permission, Role } from '../../../contracts/permissions.ts';
import { get } from './http.ts';
import type { PublicUser } from './session.ts';

export type MyTeam = { id: string; slug: string; name: string; role: Role; permissions: string[] };
/** A team the caller may act on; `role` is null for a platform admin who is not a member. */
export type TeamChoice = { slug: string; name: string; role: Role | null };
export type Me = { user: PublicUser; teams: MyTeam[]; choices: TeamChoice[] };

let cached: Promise<Me> | null = null;
const listeners = new Set<() => void>();

/**
 * GET /api/v1/me once per session. A platform admin may act on every team, member or not, so their
 * choices are every team (GET /api/v1/teams); everyone else's are their memberships.
 */
async function fetchMe(): Promise<Me> {
  const me = await get<Omit<Me, 'choices'>>('/api/v1/me');
  const own: TeamChoice[] = me.teams.map((t) => ({ slug: t.slug, name: t.name, role: t.role }));
  if (!me.user.isAdmin) return { ...me, choices: own };
  const all = await get<{ items: TeamChoice[] }>('/api/v1/teams');
  return { ...me, choices: all.items.map((t) => ({ slug: t.slug, name: t.name, role: t.role })) };
}

export function loadMe(): Promise<Me> {
  cached ??= fetchMe().catch((err: unknown) => {
    cached = null;
    throw err;
  });
  return cached;
}
export function resetMe(): void {
  cached = null;
}
/** Reloads /me everywhere it is shown (after a change to teams or memberships). */
export function refreshMe(): void {
  cached = null;
  listeners.forEach((l) => l());
}

export function useMe(): Me | null {
  const [me, setMe] = useState<Me | null>(null);
  useEffect(() => {
    let live = true;
    const load = () => void loadMe().then((m) => live && setMe(m), () => undefined);
    load();
    listeners.add(load);
    return () => {
      live = false;
      listeners.delete(load);
    };
  }, []);
  return me;
}

/**
 * What the caller may do in a team, as the API decides it: platform admins may do everything, others
 * what their team role's permissions list (where `runs:start:*` covers every kind).
 */
export function may(me: Me | null, teamSlug: string, wanted: Permission): boolean {
  if (!me) return false;
  if (me.user.isAdmin) return true;
  const team = me.teams.find((t) => t.slug === teamSlug);
  if (!team) return false;
  return team.permissions.includes(wanted) || (wanted.startsWith('runs:start:') && team.permissions.includes('runs:start:*'));
}

/** Whether the caller may start some kind of run in some team (what "Start a run" leads to). */
export function canStartRuns(me: Me | null): boolean {
  return !!me && me.choices.some((t) => may(me, t.slug, 'runs:start:*'));
}
