import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { ROLES } from '../../contracts/permissions.ts';
import { newTeamSettings, type TeamSettings } from '../../contracts/teams.ts';
import { CustomRoleSchema } from './custom-role.ts';
import { UserSchema } from './user.ts';

export const TeamSchema = defineEntity({
  name: 'Team',
  tableName: 'teams',
  properties: {
    id: p.uuid().primary().onCreate(() => crypto.randomUUID()),
    slug: p.string().unique(),
    name: p.string(),
    /** Policy (four-eyes, auto-apply, Terraform restrictions); read through teamSettingsSchema, which fills defaults. */
    settings: p.json<Partial<TeamSettings>>().onCreate(() => newTeamSettings()),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type Team = InferEntity<typeof TeamSchema>;

export const MembershipSchema = defineEntity({
  name: 'Membership',
  tableName: 'memberships',
  uniques: [{ properties: ['user', 'team'] }],
  properties: {
    id: p.uuid().primary().onCreate(() => crypto.randomUUID()),
    user: () => p.manyToOne(UserSchema).index(),
    team: () => p.manyToOne(TeamSchema),
    role: p.enum([...ROLES]),
    /** When set, what the member may do in the team comes from this role, not from `role`. */
    customRole: () => p.manyToOne(CustomRoleSchema).nullable().index().deleteRule('set null'),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type Membership = InferEntity<typeof MembershipSchema>;
