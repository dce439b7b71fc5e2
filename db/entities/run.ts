import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { RUN_STATUSES, type Approval, type CancelRequest, type Requester } from '../../contracts/runs.ts';
import { TeamSchema } from './team.ts';
import { UserSchema } from './user.ts';

export const RunSchema = defineEntity({
  name: 'Run',
  tableName: 'runs',
  // NULLs are distinct in a unique index, so finished runs (activeTarget null) never collide. Per team:
  // two teams' workspaces of one name are different workspaces.
  uniques: [{ properties: ['team', 'kind', 'activeTarget'], name: 'runs_team_kind_active_target_unique' }],
  indexes: [
    { properties: ['createdAt', 'id'] },
    { properties: ['team', 'createdAt'] },
    { properties: ['status', 'createdAt'] },
    { properties: ['kind', 'target'] },
    { properties: ['requestedBy', 'createdAt'] },
  ],
  properties: {
    id: p.uuid().primary(),
    kind: p.string(),
    team: () => p.manyToOne(TeamSchema),
    status: p.enum([...RUN_STATUSES]),
    step: p.string().nullable(),
    target: p.string().nullable(),
    /**
     * Set while the run is active; a partial unique index on (kind, activeTarget) makes a second
     * active run on the same target fail at insert time instead of racing.
     */
    activeTarget: p.string().nullable(),
    params: p.json<Record<string, unknown>>(),
    summary: p.json<Record<string, unknown>>().nullable(),
    approval: p.json<Approval>().nullable(),
    cancelRequest: p.json<CancelRequest>().nullable(),
    error: p.text().nullable(),
    /** The person who started the run; null when the platform did (a schedule, a webhook, an alert). */
    requestedBy: () => p.manyToOne(UserSchema).nullable(),
    requester: p.json<Requester>(),
    lastSeq: p.integer().default(0),
    /** Milliseconds spent awaiting approval in waits that ended; `waitingSince` is set during one. */
    waitingMs: p.bigint('number').default(0),
    waitingSince: p.datetime().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    startedAt: p.datetime().nullable(),
    finishedAt: p.datetime().nullable(),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  },
});
export type Run = InferEntity<typeof RunSchema>;
