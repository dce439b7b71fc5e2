import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import type { OverlapPolicy, ScheduleSpecInput } from '../../contracts/schedules.ts';
import { TeamSchema } from './team.ts';
import { UserSchema } from './user.ts';

/**
 * A team's recurring run. Temporal's Schedule (id `schedule-<id>`) does the timing; this row is what
 * the API lists and what a fire reads when it starts the run, so an edit takes effect at the next fire.
 * `createdBy` is whose permissions a fire is checked against: a schedule is never more than its author.
 */
export const ScheduleSchema = defineEntity({
  name: 'Schedule',
  tableName: 'schedules',
  uniques: [{ properties: ['team', 'name'], name: 'schedules_team_id_name_unique' }],
  properties: {
    id: p.uuid().primary(),
    team: () => p.manyToOne(TeamSchema).deleteRule('cascade'),
    name: p.string(),
    kind: p.string(),
    params: p.json<Record<string, unknown>>(),
    spec: p.json<ScheduleSpecInput>(),
    overlap: p.string().$type<OverlapPolicy>(),
    catchupWindowSeconds: p.integer(),
    paused: p.boolean().default(false),
    note: p.text().nullable(),
    /** What the latest fire did: the run it started, or why it started none (shown with the schedule). */
    lastFireAt: p.datetime().nullable(),
    lastRunId: p.uuid().nullable(),
    lastSkip: p.text().nullable(),
    createdBy: () => p.manyToOne(UserSchema).nullable().deleteRule('set null'),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  },
});
export type Schedule = InferEntity<typeof ScheduleSchema>;
