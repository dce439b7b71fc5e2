import { AlertAckLinkSchema, AlertEventSchema, AlertSchema } from './alert.ts';
import { ApiTokenSchema } from './api-token.ts';
import { AuditLogSchema } from './audit-log.ts';
import { CostFindingSchema, CostReportSchema } from './cost.ts';
import { CustomRoleSchema } from './custom-role.ts';
import { UserMfaSchema } from './user-mfa.ts';
import { AuthProviderSchema, SsoSessionSchema, UserIdentitySchema } from './auth-provider.ts';
import { EscalationPolicySchema } from './escalation-policy.ts';
import { NotificationAttemptSchema } from './notification-attempt.ts';
import { OnCallScheduleSchema } from './oncall-schedule.ts';
import { IntegrationSchema, RunIntegrationSchema } from './integration.ts';
import { RefreshFamilySchema, RefreshTokenSchema } from './refresh-token.ts';
import { RunEventSchema } from './run-event.ts';
import { RunProcessSchema } from './run-process.ts';
import { MonitorCheckSchema, MonitorTransitionSchema } from './monitor.ts';
import { RunSchema } from './run.ts';
import { ScheduleSchema } from './schedule.ts';
import { MembershipSchema, TeamSchema } from './team.ts';
import { TerraformPlanSchema } from './terraform-plan.ts';
import { TerraformUnsavedStateSchema } from './terraform-unsaved-state.ts';
import { UserSchema } from './user.ts';

export const ENTITIES = [UserSchema, TeamSchema, MembershipSchema, RefreshFamilySchema, RefreshTokenSchema, RunSchema, RunEventSchema, AuditLogSchema, TerraformPlanSchema, RunProcessSchema, TerraformUnsavedStateSchema, IntegrationSchema, RunIntegrationSchema,
  ScheduleSchema, MonitorCheckSchema, MonitorTransitionSchema,
  AlertSchema, AlertEventSchema, AlertAckLinkSchema, EscalationPolicySchema, NotificationAttemptSchema, OnCallScheduleSchema,
  CostFindingSchema, CostReportSchema, CustomRoleSchema, ApiTokenSchema, UserMfaSchema, AuthProviderSchema, UserIdentitySchema, SsoSessionSchema];
export { CostFindingSchema, CostReportSchema };
export type { CostFinding, CostReport } from './cost.ts';
export { ApiTokenSchema, CustomRoleSchema, UserMfaSchema };
export type { ApiToken } from './api-token.ts';
export type { CustomRole } from './custom-role.ts';
export type { UserMfa } from './user-mfa.ts';
export { AuthProviderSchema, SsoSessionSchema, UserIdentitySchema };
export type { AuthProvider, SsoSession, UserIdentity } from './auth-provider.ts';
export { AlertAckLinkSchema, AlertEventSchema, AlertSchema, EscalationPolicySchema, NotificationAttemptSchema, OnCallScheduleSchema };
export type { Alert } from './alert.ts';
export type { EscalationPolicy } from './escalation-policy.ts';
export type { OnCallSchedule } from './oncall-schedule.ts';
export type { Integration } from './integration.ts';
export type { Run } from './run.ts';
export type { MonitorCheck, MonitorTransition } from './monitor.ts';
export type { RunProcess } from './run-process.ts';
export type { Schedule } from './schedule.ts';
export type { TerraformUnsavedState } from './terraform-unsaved-state.ts';
export type { User } from './user.ts';
export type { Team, Membership } from './team.ts';
export { AuditLogSchema, IntegrationSchema, MembershipSchema, MonitorCheckSchema, MonitorTransitionSchema, RefreshFamilySchema, RunIntegrationSchema, RefreshTokenSchema, RunEventSchema, RunProcessSchema, RunSchema, ScheduleSchema, TeamSchema, TerraformPlanSchema, TerraformUnsavedStateSchema, UserSchema };
