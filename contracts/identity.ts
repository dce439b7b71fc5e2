import { z } from 'zod';
import { KINDS } from './kinds/index.ts';
import { PLAIN_PERMISSIONS } from './permissions.ts';
import { teamSlugSchema } from './teams.ts';

/** Every permission a role or token may name: the plain ones, and the per-kind start and approval of each kind. */
export function permissionCatalogue(): { permission: string; description: string }[] {
  const kinds = Object.values(KINDS);
  return [
    ...Object.entries(PLAIN_PERMISSIONS).map(([permission, description]) => ({ permission, description })),
    ...kinds.map((k) => ({ permission: `runs:start:${k.kind}`, description: `start ${k.title} runs` })),
    ...kinds.filter((k) => k.approval !== 'never').map((k) => ({ permission: `runs:approve:${k.kind}`, description: `approve or reject ${k.title} runs at their approval gate` })),
  ];
}
const PERMISSION_NAMES = permissionCatalogue().map((p) => p.permission) as [string, ...string[]];
export const permissionSchema = z.enum(PERMISSION_NAMES);

export const permissionListSchema = z.object({ items: z.array(z.object({ permission: z.string(), description: z.string() })) });

// ---- API tokens
export const createApiTokenRequestSchema = z.object({
  name: z.string().trim().min(1).max(100),
  team: teamSlugSchema.describe('the one team the token acts in'),
  permissions: z.array(permissionSchema).min(1).max(PERMISSION_NAMES.length).describe('at most what the creator holds in the team'),
  expiresInDays: z.number().int().min(1).max(366).default(90),
});
export const apiTokenSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  prefix: z.string().describe('the token’s first characters, to tell tokens apart'),
  team: z.object({ id: z.uuid(), slug: z.string() }),
  permissions: z.array(z.string()),
  expiresAt: z.string(),
  lastUsedAt: z.string().nullable().describe('recorded in batches: may lag by some seconds'),
  revokedAt: z.string().nullable(),
  createdAt: z.string(),
});
export const createdApiTokenSchema = apiTokenSchema.extend({ token: z.string().describe('shown this once; send as `Authorization: Bearer …`') });
export const apiTokenListSchema = z.object({ items: z.array(apiTokenSchema) });
export const idPathSchema = z.object({ id: z.uuid() });

// ---- sessions
export const sessionSchema = z.object({
  id: z.uuid(),
  current: z.boolean().describe('the session this request was made with'),
  userAgent: z.string().nullable(),
  ip: z.string().nullable(),
  createdAt: z.string(),
  lastUsedAt: z.string().describe('the last sign-in or token refresh'),
});
export const sessionListSchema = z.object({ items: z.array(sessionSchema) });
export const userSessionsPathSchema = z.object({ id: z.uuid() });

// ---- roles
const roleName = z.string().trim().regex(/^[a-z0-9][a-z0-9 _-]{1,62}$/i, 'letters, digits, space, "_" and "-", 2 to 63 characters');
export const createRoleRequestSchema = z.object({
  name: roleName,
  description: z.string().max(500).default(''),
  permissions: z.array(permissionSchema).min(1).max(PERMISSION_NAMES.length),
  approvalTargets: z.array(z.string().min(1).max(200)).min(1).max(100).nullable().default(null).describe('approvals limited to runs with these targets (Terraform workspaces, deployments); null: every run'),
});
export const updateRoleRequestSchema = z
  .object({
    description: z.string().max(500).optional(),
    permissions: z.array(permissionSchema).min(1).max(PERMISSION_NAMES.length).optional(),
    approvalTargets: z.array(z.string().min(1).max(200)).min(1).max(100).nullable().optional(),
  })
  .refine((b) => Object.keys(b).length > 0, { message: 'give at least one of description, permissions, approvalTargets' });
export const roleSchema = z.object({
  id: z.string().describe('a uuid, or the name of a built-in role'),
  name: z.string(),
  builtIn: z.boolean(),
  description: z.string(),
  permissions: z.array(z.string()),
  approvalTargets: z.array(z.string()).nullable(),
});
export const roleListSchema = z.object({ items: z.array(roleSchema) });
export const assignRoleRequestSchema = z.object({ roleId: z.uuid().nullable().describe('a custom role; null goes back to the built-in role of the membership') });
export const membershipRolePathSchema = z.object({ slug: teamSlugSchema, userId: z.uuid() });
export const effectivePermissionsSchema = z.object({
  user: z.object({ id: z.uuid(), email: z.string(), isAdmin: z.boolean(), mfaEnrolled: z.boolean() }),
  teams: z.array(
    z.object({
      id: z.uuid(),
      slug: z.string(),
      role: z.string(),
      customRole: z.object({ id: z.uuid(), name: z.string() }).nullable(),
      permissions: z.array(z.string()),
      approvalTargets: z.array(z.string()).nullable(),
      blockedByMfa: z.boolean().describe('the team requires MFA and the user has not enrolled: they may only read'),
    }),
  ),
});

// ---- audit
export const auditQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z
    .string()
    .regex(/^\d{1,19}$/, 'nextCursor of the previous page')
    // An audit id is a bigint: 19 digits can be past its largest value.
    .refine((c) => !/^\d+$/.test(c) || BigInt(c) <= 9223372036854775807n, 'nextCursor of the previous page')
    .optional(),
  action: z.string().max(100).optional().describe('exact action, or a prefix ending in "." (e.g. `role.`)'),
  actorId: z.uuid().optional(),
  actorEmail: z.string().trim().min(1).max(255).optional().describe('the actor’s email at the time, case-insensitive'),
  resourceType: z.string().max(100).optional(),
  resourceId: z.string().max(200).optional(),
  teamId: z.uuid().optional(),
  since: z.iso.datetime().optional(),
  until: z.iso.datetime().optional(),
});
export const auditEntrySchema = z.object({
  id: z.string(),
  at: z.string(),
  actorId: z.string().nullable(),
  actorEmail: z.string().nullable(),
  action: z.string(),
  resourceType: z.string(),
  resourceId: z.string(),
  teamId: z.string().nullable(),
  ip: z.string().nullable(),
  data: z.record(z.string(), z.unknown()).nullable(),
});
export const auditPageSchema = z.object({ items: z.array(auditEntrySchema), nextCursor: z.string().nullable() });

// ---- MFA
export const totpEnrolmentSchema = z.object({
  secret: z.string().describe('base32, for authenticator apps that cannot scan'),
  otpauthUrl: z.string(),
  qrCode: z.string().describe('the otpauth URL as a PNG data URL'),
});
export const totpCodeRequestSchema = z.object({ code: z.string().regex(/^\d{6}$/, 'six digits') });
export const recoveryCodesSchema = z.object({ recoveryCodes: z.array(z.string()).describe('each works once; shown this once') });
export const mfaStatusSchema = z.object({ enrolled: z.boolean(), recoveryCodesLeft: z.number().int() });
const currentPassword = z
  .string()
  .min(1)
  .max(1024)
  .optional()
  .describe('required unless the session signed in through an identity provider within the last ten minutes');
export const startMfaRequestSchema = z.object({ currentPassword });
export const disableMfaRequestSchema = z.object({ code: z.string().min(6).max(32).describe('a current TOTP code or a recovery code'), currentPassword });
