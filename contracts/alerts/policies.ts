import { z } from 'zod';
import { teamSlugSchema } from '../teams.ts';

/**
 * One step of an escalation chain. People are reached through an email (smtp) integration of the
 * team at their account's address; a channel step posts to one integration (webhook, slack,
 * pagerduty, twilio, smtp with fixed recipients).
 */
export const escalationStepSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('notify_users'), users: z.array(z.uuid()).min(1).max(50), via: z.uuid().describe("an smtp, twilio, apns or fcm integration of the team: each person's email, phone or devices") }),
  z.strictObject({ type: z.literal('notify_oncall'), schedule: z.uuid().describe('an on-call schedule of the team'), via: z.uuid().describe("an smtp, twilio, apns or fcm integration of the team: the on-call person's email, phone or devices") }),
  z.strictObject({ type: z.literal('notify_channel'), integration: z.uuid().describe('a notification integration of the team') }),
  z.strictObject({ type: z.literal('wait'), seconds: z.number().int().min(1).max(7 * 86_400) }),
]);
export type EscalationStep = z.infer<typeof escalationStepSchema>;

const policyName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}$/, 'letters, digits, space, ".", "_" and "-", 1 to 100 characters');

export const policyBodySchema = z.strictObject({
  steps: z.array(escalationStepSchema).min(1).max(30),
  repeat: z.number().int().min(0).max(10).default(0).describe('how many more times the whole chain runs after the first pass'),
  ackTimeoutSeconds: z.number().int().min(1).max(7 * 86_400).default(3600).describe('an acknowledged alert not resolved by then escalates again'),
});

export const createPolicyRequestSchema = policyBodySchema.extend({ team: teamSlugSchema, name: policyName, default: z.boolean().default(false).describe("used for alerts of the team's sources that name no policy") });
export type CreatePolicyRequest = z.infer<typeof createPolicyRequestSchema>;
/** The version an edit was made from: a PUT naming another than the current one is refused (409), so two editors never overwrite each other unseen. */
export const editedVersionSchema = z.number().int().min(1).optional().describe('the version this edit was made from; 409 if the resource has changed since (omit to replace whatever is there)');
export const updatePolicyRequestSchema = policyBodySchema.extend({ name: policyName.optional(), default: z.boolean().optional(), version: editedVersionSchema });
export type UpdatePolicyRequest = z.infer<typeof updatePolicyRequestSchema>;
export const policyPathSchema = z.object({ id: z.uuid() });

/** What an escalation starts with and keeps: editing the policy later changes nothing for it. */
export type PolicySnapshot = { id: string; version: number; steps: EscalationStep[]; repeat: number; ackTimeoutSeconds: number };

export const policyViewSchema = z.object({
  id: z.uuid(),
  team: z.string(),
  name: z.string(),
  version: z.number().int().describe('raised by every change; an alert keeps the version it started with'),
  default: z.boolean(),
  steps: z.array(escalationStepSchema),
  repeat: z.number().int(),
  ackTimeoutSeconds: z.number().int(),
  updatedAt: z.string(),
});
export type PolicyView = z.infer<typeof policyViewSchema>;
export const policyListSchema = z.object({ policies: z.array(policyViewSchema) });
export const listPoliciesQuerySchema = z.strictObject({ team: teamSlugSchema.optional() });
