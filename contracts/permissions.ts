export const ROLES = ['viewer', 'operator', 'approver', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export type Permission =
  | 'runs:read'
  | `runs:start:${string}`
  | 'runs:approve'
  | `runs:approve:${string}`
  | 'runs:cancel'
  | 'team:manage'
  | 'integrations:manage'
  | 'alerts:ack'
  | 'alerts:manage';

const viewer: Permission[] = ['runs:read'];
const operator: Permission[] = [...viewer, 'runs:start:*', 'runs:cancel', 'alerts:ack'];
const approver: Permission[] = [...operator, 'runs:approve'];
// Integrations hold a team's credentials: only admins create, change or delete them; reading their
// metadata (never the secrets) needs only runs:read, so operators can pick one when starting a run.
const admin: Permission[] = [...approver, 'team:manage', 'integrations:manage', 'alerts:manage'];

export const ROLE_PERMISSIONS: Record<Role, readonly Permission[]> = { viewer, operator, approver, admin };

/** The permissions that are not per kind; per-kind ones are `runs:start:<kind>` and `runs:approve:<kind>`. */
export const PLAIN_PERMISSIONS: Record<string, string> = {
  'runs:read': 'see the team’s runs, their logs and the team’s integrations (never their secrets)',
  'runs:start:*': 'start runs of every kind',
  'runs:approve': 'approve or reject runs of every kind waiting at their approval gate',
  'runs:cancel': 'cancel the team’s runs',
  'team:manage': 'manage the team’s members and settings',
  'integrations:manage': 'create, change and delete the team’s integrations',
  'alerts:ack': 'acknowledge and resolve the team’s alerts',
  'alerts:manage': 'manage the team’s alert sources, escalation policies and on-call schedules',
};

/**
 * True when `granted` holds `wanted`: `runs:start:*` covers every `runs:start:<kind>`, and `runs:approve`
 * every kind's gate (`runs:approve:<kind>`).
 */
export function permissionsAllow(granted: readonly string[], wanted: string): boolean {
  if (granted.includes(wanted)) return true;
  if (wanted.startsWith('runs:start:')) return granted.includes('runs:start:*');
  if (wanted.startsWith('runs:approve:')) return granted.includes('runs:approve');
  return false;
}

/** True when `role` grants `wanted`; `runs:start:*` covers every kind. */
export function roleAllows(role: Role, wanted: Permission): boolean {
  return permissionsAllow(ROLE_PERMISSIONS[role], wanted);
}

/**
 * What both sets allow, as a set: a token scoped `runs:start:*` made by someone holding only
 * `runs:start:terraform` gets `runs:start:terraform`, and the reverse too.
 */
export function intersectPermissions(a: readonly string[], b: readonly string[]): Permission[] {
  const out = new Set<string>();
  for (const p of a) if (permissionsAllow(b, p)) out.add(p);
  for (const p of b) if (permissionsAllow(a, p)) out.add(p);
  return [...out].sort() as Permission[];
}
