import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { RUN_EVENT_TYPES } from '../../contracts/events.ts';

/** Every event a run emitted; (run_id, seq) is the key clients page and resume by. */
export const RunEventSchema = defineEntity({
  name: 'RunEvent',
  tableName: 'run_events',
  properties: {
    runId: p.uuid().primary(),
    seq: p.integer().primary(),
    ts: p.datetime(),
    type: p.enum([...RUN_EVENT_TYPES]),
    level: p.string(),
    stream: p.string().nullable(),
    message: p.text(),
    data: p.json<Record<string, unknown>>().nullable(),
    attempt: p.integer(),
  },
});
export type RunEventRow = InferEntity<typeof RunEventSchema>;
