export const ROLES = ['viewer', 'operator', 'approver', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export type Permission =
  | 'runs:read'
  | `runs:start:${string}`
  | 'runs:approve'
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

/** True when `role` grants `wanted`; `runs:start:*` covers every kind. */
export function roleAllows(role: Role, wanted: Permission): boolean {
  const granted = ROLE_PERMISSIONS[role];
  if (granted.includes(wanted)) return true;
  return wanted.startsWith('runs:start:') && granted.includes('runs:start:*');
}
