import { useEffect, useState } from 'preact/hooks';
import { get } from './http.ts';

/** A built-in role (id = its name) or a custom one (id = a uuid), as GET /api/v1/roles lists it. */
export type RoleItem = { id: string; name: string; builtIn: boolean; description: string; permissions: string[]; approvalTargets: string[] | null };
export type PermissionItem = { permission: string; description: string };
/** GET /api/v1/users/{id}/permissions: what a user may do in each of their teams, and why. */
export type EffectivePermissions = {
  user: { id: string; email: string; isAdmin: boolean; mfaEnrolled: boolean };
  teams: { id: string; slug: string; role: string; customRole: { id: string; name: string } | null; permissions: string[]; approvalTargets: string[] | null; blockedByMfa: boolean }[];
};

/** The roles, reloaded by calling the returned `reload` (after a change). */
export function useRoles(): [RoleItem[] | null, () => void] {
  const [roles, setRoles] = useState<RoleItem[] | null>(null);
  const reload = () => void get<{ items: RoleItem[] }>('/api/v1/roles').then((r) => setRoles(r.items), () => setRoles([]));
  useEffect(reload, []);
  return [roles, reload];
}

/** The permission catalogue (plain permissions, then each kind's start and approval), loaded once per page. */
export function usePermissionCatalogue(): PermissionItem[] {
  const [items, setItems] = useState<PermissionItem[]>([]);
  useEffect(() => void get<{ items: PermissionItem[] }>('/api/v1/permissions').then((r) => setItems(r.items), () => undefined), []);
  return items;
}

export type PermissionGroup = { title: string; items: PermissionItem[] };

/**
 * The catalogue in the groups the role form shows: what the whole team's runs allow, starting single
 * kinds, approving at single kinds' gates, the team itself, alerts. Grouped by name, so a permission
 * the API adds later still lands somewhere (under "Other").
 */
export function groupPermissions(items: PermissionItem[]): PermissionGroup[] {
  const groups: PermissionGroup[] = [
    { title: 'Runs of every kind', items: [] },
    { title: 'Start runs of one kind', items: [] },
    { title: 'Approve runs of one kind (at its approval gate)', items: [] },
    { title: 'Team and integrations', items: [] },
    { title: 'Alerts', items: [] },
    { title: 'Other', items: [] },
  ];
  for (const item of items) {
    const p = item.permission;
    const at =
      p.startsWith('runs:start:') && p !== 'runs:start:*' ? 1 : p.startsWith('runs:approve:') ? 2 : p.startsWith('runs:') ? 0 : p.startsWith('team:') || p.startsWith('integrations:') ? 3 : p.startsWith('alerts:') ? 4 : 5;
    groups[at]!.items.push(item);
  }
  return groups.filter((g) => g.items.length > 0);
}
