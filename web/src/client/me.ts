import { useEffect, useState } from 'preact/hooks';
import type { Permission, Role } from '../../../contracts/permissions.ts';
import { get } from './http.ts';
import type { PublicUser } from './session.ts';

export type MyTeam = { id: string; slug: string; name: string; role: Role; permissions: string[] };
export type Me = { user: PublicUser; teams: MyTeam[] };

let cached: Promise<Me> | null = null;

/** GET /api/v1/me once per session; `reset()` on sign-in and sign-out. */
export function loadMe(): Promise<Me> {
  cached ??= get<Me>('/api/v1/me').catch((err: unknown) => {
    cached = null;
    throw err;
  });
  return cached;
}
export function resetMe(): void {
  cached = null;
}

export function useMe(): Me | null {
  const [me, setMe] = useState<Me | null>(null);
  useEffect(() => {
    let live = true;
    loadMe().then((m) => live && setMe(m), () => undefined);
    return () => {
      live = false;
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
