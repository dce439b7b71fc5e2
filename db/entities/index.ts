import { AuditLogSchema } from './audit-log.ts';
import { RefreshFamilySchema, RefreshTokenSchema } from './refresh-token.ts';
import { RunEventSchema } from './run-event.ts';
import { RunSchema } from './run.ts';
import { MembershipSchema, TeamSchema } from './team.ts';
import { TerraformPlanSchema } from './terraform-plan.ts';
import { UserSchema } from './user.ts';

export const ENTITIES = [UserSchema, TeamSchema, MembershipSchema, RefreshFamilySchema, RefreshTokenSchema, RunSchema, RunEventSchema, AuditLogSchema, TerraformPlanSchema];
export type { Run } from './run.ts';
export type { User } from './user.ts';
export type { Team, Membership } from './team.ts';
export { AuditLogSchema, MembershipSchema, RefreshFamilySchema, RefreshTokenSchema, RunEventSchema, RunSchema, TeamSchema, TerraformPlanSchema, UserSchema };
