import { createScheduleRequestSchema, listSchedulesQuerySchema, pauseRequestSchema, scheduleListSchema, schedulePathSchema, scheduleViewSchema, updateScheduleRequestSchema } from '../../contracts/schedules.ts';
import type { OpenApiBuilder, OperationSpec } from './builder.ts';

/** The schedules router's operations (api/routes/schedules.ts), from the schemas it validates with. */
export const scheduleOps: OperationSpec[] = [
  { method: 'get', path: '/api/v1/schedules', operationId: 'listSchedules', tag: 'schedules', summary: 'Schedules of the teams the caller can see, with their next fire times and latest fires', query: listSchedulesQuerySchema, responses: { 200: { description: 'the schedules', schema: 'ScheduleList' } }, errors: [400] },
  { method: 'post', path: '/api/v1/schedules', operationId: 'createSchedule', tag: 'schedules', summary: 'Run a kind on a cron or interval (needs the right to start that kind); audited', body: 'CreateScheduleRequest', responses: { 201: { description: 'the schedule', schema: 'Schedule' } }, errors: [400, 403, 404, 409] },
  { method: 'get', path: '/api/v1/schedules/{id}', operationId: 'getSchedule', tag: 'schedules', summary: 'One schedule', params: schedulePathSchema, responses: { 200: { description: 'the schedule', schema: 'Schedule' } }, errors: [400, 404] },
  { method: 'patch', path: '/api/v1/schedules/{id}', operationId: 'updateSchedule', tag: 'schedules', summary: 'Change name, params, spec or policies; takes effect at the next fire', params: schedulePathSchema, body: 'UpdateScheduleRequest', responses: { 200: { description: 'the schedule', schema: 'Schedule' } }, errors: [400, 403, 404, 409] },
  { method: 'delete', path: '/api/v1/schedules/{id}', operationId: 'deleteSchedule', tag: 'schedules', summary: 'Stop and delete a schedule (runs it started stay)', params: schedulePathSchema, responses: { 204: { description: 'deleted' } }, errors: [400, 403, 404] },
  ...(['pause', 'unpause'] as const).map(
    (a): OperationSpec => ({ method: 'post', path: `/api/v1/schedules/{id}/${a}`, operationId: `${a}Schedule`, tag: 'schedules', summary: `${a === 'pause' ? 'Pause' : 'Resume'} a schedule, with an optional note`, params: schedulePathSchema, body: 'PauseRequest', bodyOptional: true, responses: { 200: { description: 'the schedule', schema: 'Schedule' } }, errors: [400, 403, 404] }),
  ),
  { method: 'post', path: '/api/v1/schedules/{id}/trigger', operationId: 'triggerSchedule', tag: 'schedules', summary: 'Fire now (the overlap policy applies); the run appears in the runs list', params: schedulePathSchema, responses: { 202: { description: 'fired', schema: 'Schedule' } }, errors: [400, 403, 404] },
];

/** What the spec's refinements say, in JSON Schema: cron or everySeconds (exactly one); an offset only with an interval. */
function specChoice(request: Record<string, unknown>): void {
  const spec = (request.properties as Record<string, Record<string, unknown>> | undefined)?.spec;
  if (!spec) return;
  spec.oneOf = [{ required: ['cron'] }, { required: ['everySeconds'] }];
  spec.dependentRequired = { offsetSeconds: ['everySeconds'] };
}

export function scheduleSchemas(b: OpenApiBuilder): OpenApiBuilder {
  return b
    .schema('CreateScheduleRequest', createScheduleRequestSchema, 'input')
    .schema('UpdateScheduleRequest', updateScheduleRequestSchema, 'input')
    .schema('PauseRequest', pauseRequestSchema, 'input')
    .schema('Schedule', scheduleViewSchema, 'output')
    .schema('ScheduleList', scheduleListSchema, 'output')
    .patch('CreateScheduleRequest', specChoice)
    .patch('UpdateScheduleRequest', (s) => {
      s.minProperties = 1;
      specChoice(s);
    });
}
