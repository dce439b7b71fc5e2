import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/**
 * A role an admin defined as a set of permissions (contracts/permissions.ts), assigned per team
 * membership next to the built-in role it replaces there. `approvalTargets`, when set, limits the
 * approvals it grants to runs whose target (a Terraform workspace, a deployment) is listed.
 */
export const CustomRoleSchema = defineEntity({
  name: 'CustomRole',
  tableName: 'custom_roles',
  properties: {
    id: p.uuid().primary().onCreate(() => crypto.randomUUID()),
    name: p.string().unique(),
    description: p.text().default(''),
    permissions: p.json<string[]>(),
    approvalTargets: p.json<string[]>().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  },
});
export type CustomRole = InferEntity<typeof CustomRoleSchema>;
