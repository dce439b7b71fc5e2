import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import type { Override, RotationLayer } from '../../contracts/alerts/index.ts';
import { TeamSchema } from './team.ts';

/** Who is on call when: layered rotations and overrides, computed by core/oncall (never stored as shifts). */
export const OnCallScheduleSchema = defineEntity({
  name: 'OnCallSchedule',
  tableName: 'oncall_schedules',
  uniques: [{ properties: ['team', 'name'], name: 'oncall_schedules_team_id_name_unique' }],
  properties: {
    id: p.uuid().primary(),
    team: () => p.manyToOne(TeamSchema).deleteRule('cascade'),
    name: p.string(),
    layers: p.json<RotationLayer[]>(),
    overrides: p.json<Override[]>(),
    /** Raised by every change; an edit made from an older version is refused (api/services/alerts-oncall.ts). */
    version: p.integer().default(1),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  },
});
export type OnCallSchedule = InferEntity<typeof OnCallScheduleSchema>;
