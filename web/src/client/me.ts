import { useEffect, useState } from 'preact/hooks';
import { permissionsAllow, type Permission, type Role } from '../../../contracts/permissions.ts';
import { get } from './http.ts';
import type { PublicUser } from './session.ts';

/**
 * `blockedByMfa`: the team requires a second factor the user has not enrolled, so the API lets them
 * only read there (what the page says, and leads them to enrol).
 */
export type MyTeam = { id: string; slug: string; name: string; role: Role; permissions: string[]; blockedByMfa: boolean };
type Effective = { teams: { id: string; blockedByMfa: boolean }[] };
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
  const plain = await get<{ user: Me['user']; teams: Omit<MyTeam, 'blockedByMfa'>[] }>('/api/v1/me');
  // Platform admins are never held back by a team's MFA policy; everyone else learns it from their effective permissions.
  const effective = plain.user.isAdmin ? null : await get<Effective>(`/api/v1/users/${plain.user.id}/permissions`);
  const blocked = new Set(effective?.teams.filter((t) => t.blockedByMfa).map((t) => t.id));
  const me = { ...plain, teams: plain.teams.map((t) => ({ ...t, blockedByMfa: blocked.has(t.id) })) };
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
 * What the caller's role (built-in or custom) grants in a team, as the API reads it: platform admins
 * everything, others what their membership's permissions list (`runs:start:*` covers every kind's
 * start, `runs:approve` every kind's gate). A team's MFA policy is not applied here: a member it holds
 * back still sees the action, and the API's refusal tells them why and leads them to enrol.
 */
export function may(me: Me | null, teamSlug: string, wanted: Permission): boolean {
  if (!me) return false;
  if (me.user.isAdmin) return true;
  const team = me.teams.find((t) => t.slug === teamSlug);
  return !!team && permissionsAllow(team.permissions, wanted);
}

/** Whether the caller may start some kind of run in some team (what "Start a run" leads to); a custom role may allow single kinds. */
export function canStartRuns(me: Me | null): boolean {
  if (!me) return false;
  if (me.user.isAdmin) return me.choices.length > 0;
  return me.teams.some((t) => t.permissions.some((p) => p.startsWith('runs:start:')));
}

/** The teams whose MFA policy holds the caller back until they enrol a second factor. */
export const mfaBlockedTeams = (me: Me | null): MyTeam[] => me?.teams.filter((t) => t.blockedByMfa) ?? [];
