import { z } from 'zod';
import {
  ackLinkQuerySchema,
  alertActionRequestSchema,
  alertDetailSchema,
  alertListSchema,
  alertmanagerPayloadSchema,
  alertPathSchema,
  alertViewSchema,
  createOnCallScheduleRequestSchema,
  updateOnCallScheduleRequestSchema,
  createPolicyRequestSchema,
  listOnCallQuerySchema,
  onCallScheduleListSchema,
  genericAlertSchema,
  ingestQuerySchema,
  ingestResultSchema,
  listAlertsQuerySchema,
  listPoliciesQuerySchema,
  onCallNowQuerySchema,
  onCallNowSchema,
  onCallPathSchema,
  onCallRangeQuerySchema,
  onCallRangeSchema,
  onCallScheduleViewSchema,
  pagingContactSchema,
  policyListSchema,
  policyPathSchema,
  policyViewSchema,
  updatePolicyRequestSchema,
} from '../../contracts/alerts/index.ts';
import { grafanaPayloadSchema } from '../../contracts/alerts/grafana.ts';
import type { OpenApiBuilder, OperationSpec } from './builder.ts';

const SOURCE_AUTH = 'Authenticated by the alert-source integration: `?source=<its id>` and `Authorization: Bearer <its token>`';

/** The alerts and on-call routers' operations (api/routes/alerts.ts, api/routes/oncall.ts). */
export const alertOps: OperationSpec[] = [
  { method: 'post', path: '/api/v1/alerts', operationId: 'ingestAlert', tag: 'alerts', summary: `Send one alert (opens, repeats or resolves by dedupKey). ${SOURCE_AUTH}`, auth: false, query: ingestQuerySchema, body: 'GenericAlert', responses: { 202: { description: 'what happened to it', schema: 'IngestResult' } }, errors: [401] },
  { method: 'post', path: '/api/v1/alerts/alertmanager', operationId: 'ingestAlertmanager', tag: 'alerts', summary: `Prometheus Alertmanager webhook (version 4 payload; each alert deduplicated by its fingerprint). ${SOURCE_AUTH}`, auth: false, query: ingestQuerySchema, body: 'AlertmanagerPayload', responses: { 202: { description: 'what happened to each alert', schema: 'IngestResult' } }, errors: [401] },
  { method: 'post', path: '/api/v1/alerts/grafana', operationId: 'ingestGrafana', tag: 'alerts', summary: `Grafana unified alerting webhook contact point (grouped alerts; each deduplicated by its fingerprint). ${SOURCE_AUTH}`, auth: false, query: ingestQuerySchema, body: 'GrafanaPayload', responses: { 202: { description: 'what happened to each alert', schema: 'IngestResult' } }, errors: [401] },
  { method: 'post', path: '/api/v1/alerts/twilio/sms', operationId: 'twilioSmsReply', tag: 'alerts', summary: "A Twilio number's messaging webhook: a reply `ACK <code>` acknowledges the paged alert (form-encoded, verified with X-Twilio-Signature under the account's auth token; `source` is the twilio integration)", auth: false, query: ingestQuerySchema, responses: { 200: { description: 'TwiML answering the sender', schema: 'TwiML', contentType: 'text/xml' } }, errors: [401] },
  { method: 'get', path: '/api/v1/alerts/ack-link', operationId: 'ackLinkPage', tag: 'alerts', summary: 'The page an emailed acknowledgement link opens (its button POSTs the link)', auth: false, query: ackLinkQuerySchema, responses: { 200: { description: 'an HTML page with one button', schema: 'HtmlPage', contentType: 'text/html' } } },
  { method: 'post', path: '/api/v1/alerts/ack-link', operationId: 'useAckLink', tag: 'alerts', summary: 'Acknowledge through an emailed link: signed, expiring, single-use', auth: false, query: ackLinkQuerySchema, responses: { 200: { description: 'the alert', schema: 'Alert' } }, errors: [404, 409] },
  { method: 'post', path: '/api/v1/alerts/slack/actions', operationId: 'slackAction', tag: 'alerts', summary: "Slack's interactivity Request URL for the Acknowledge / Resolve buttons (form-encoded `payload`, verified with the app's signing secret; `source` is the slack or slack-webhook integration)", auth: false, query: ingestQuerySchema, responses: { 200: { description: 'what Slack shows the person', schema: 'SlackActionResult' } }, errors: [401, 404] },
  { method: 'get', path: '/api/v1/alerts', operationId: 'listAlerts', tag: 'alerts', summary: 'Alerts of the teams the caller can see, newest first', query: listAlertsQuerySchema, responses: { 200: { description: 'a page of alerts', schema: 'AlertList' } } },
  { method: 'get', path: '/api/v1/alerts/{id}', operationId: 'getAlert', tag: 'alerts', summary: 'One alert with its timeline and every notification attempt', params: alertPathSchema, responses: { 200: { description: 'the alert', schema: 'AlertDetail' } }, errors: [404] },
  ...(['ack', 'resolve'] as const).map(
    (a): OperationSpec => ({ method: 'post', path: `/api/v1/alerts/{id}/${a}`, operationId: `${a}Alert`, tag: 'alerts', summary: `${a === 'ack' ? 'Acknowledge (stops paging at once)' : 'Resolve (ends the escalation)'} (alerts:ack); audited`, params: alertPathSchema, body: 'AlertActionRequest', bodyOptional: true, responses: { 200: { description: 'the alert', schema: 'Alert' } }, errors: [403, 404, 409] }),
  ),
  { method: 'get', path: '/api/v1/escalation-policies', operationId: 'listEscalationPolicies', tag: 'alerts', summary: 'Escalation policies of the teams the caller can see', query: listPoliciesQuerySchema, responses: { 200: { description: 'the policies', schema: 'EscalationPolicyList' } } },
  { method: 'post', path: '/api/v1/escalation-policies', operationId: 'createEscalationPolicy', tag: 'alerts', summary: 'Create a team’s escalation policy (alerts:manage)', body: 'CreateEscalationPolicyRequest', responses: { 201: { description: 'the policy', schema: 'EscalationPolicy' } }, errors: [403, 404, 409] },
  { method: 'get', path: '/api/v1/escalation-policies/{id}', operationId: 'getEscalationPolicy', tag: 'alerts', summary: 'One escalation policy', params: policyPathSchema, responses: { 200: { description: 'the policy', schema: 'EscalationPolicy' } }, errors: [404] },
  { method: 'put', path: '/api/v1/escalation-policies/{id}', operationId: 'updateEscalationPolicy', tag: 'alerts', summary: 'Replace the steps: a new version; alerts already escalating keep theirs (alerts:manage)', params: policyPathSchema, body: 'UpdateEscalationPolicyRequest', responses: { 200: { description: 'the policy', schema: 'EscalationPolicy' } }, errors: [403, 404, 409] },
  { method: 'get', path: '/api/v1/oncall', operationId: 'listOnCallSchedules', tag: 'alerts', summary: 'On-call schedules of the teams the caller can see', query: listOnCallQuerySchema, responses: { 200: { description: 'the schedules', schema: 'OnCallScheduleList' } } },
  { method: 'post', path: '/api/v1/oncall', operationId: 'createOnCallSchedule', tag: 'alerts', summary: 'Create an on-call schedule: layered rotations and overrides (alerts:manage)', body: 'CreateOnCallScheduleRequest', responses: { 201: { description: 'the schedule', schema: 'OnCallSchedule' } }, errors: [403, 404, 409] },
  { method: 'get', path: '/api/v1/oncall/{schedule}', operationId: 'getOnCallSchedule', tag: 'alerts', summary: 'One on-call schedule', params: onCallPathSchema, responses: { 200: { description: 'the schedule', schema: 'OnCallSchedule' } }, errors: [404] },
  { method: 'put', path: '/api/v1/oncall/{schedule}', operationId: 'updateOnCallSchedule', tag: 'alerts', summary: 'Replace an on-call schedule: name, layers and overrides together (alerts:manage)', params: onCallPathSchema, body: 'UpdateOnCallScheduleRequest', responses: { 200: { description: 'the schedule', schema: 'OnCallSchedule' } }, errors: [403, 404, 409] },
  { method: 'get', path: '/api/v1/oncall/{schedule}/now', operationId: 'whoIsOnCall', tag: 'alerts', summary: 'Who is on call now (or at `at`)', params: onCallPathSchema, query: onCallNowQuerySchema, responses: { 200: { description: 'who', schema: 'OnCallNow' } }, errors: [404] },
  { method: 'get', path: '/api/v1/me/contact', operationId: 'getPagingContact', tag: 'alerts', summary: 'The caller’s paging contact: the phone SMS steps text and the devices push steps reach', responses: { 200: { description: 'the contact', schema: 'PagingContact' } } },
  { method: 'put', path: '/api/v1/me/contact', operationId: 'setPagingContact', tag: 'alerts', summary: 'Set the caller’s paging contact (their own only, not with an API token); audited without the values', body: 'PagingContactRequest', responses: { 200: { description: 'the contact', schema: 'PagingContact' } }, errors: [400, 403] },
  { method: 'get', path: '/api/v1/oncall/{schedule}/shifts', operationId: 'onCallShifts', tag: 'alerts', summary: 'Who is on call when, between two instants (at most 93 days)', params: onCallPathSchema, query: onCallRangeQuerySchema, responses: { 200: { description: 'the shifts', schema: 'OnCallShifts' } }, errors: [404] },
];

export function alertSchemas(b: OpenApiBuilder): OpenApiBuilder {
  return b
    .schema('GenericAlert', genericAlertSchema, 'input')
    .schema('AlertmanagerPayload', alertmanagerPayloadSchema, 'input')
    .schema('IngestResult', ingestResultSchema, 'output')
    .schema('HtmlPage', z.string(), 'output')
    .schema('GrafanaPayload', grafanaPayloadSchema, 'input')
    .schema('TwiML', z.string(), 'output')
    .schema('SlackActionResult', z.object({ text: z.string() }), 'output')
    .schema('AlertActionRequest', alertActionRequestSchema, 'input')
    .schema('Alert', alertViewSchema, 'output')
    .schema('AlertDetail', alertDetailSchema, 'output')
    .schema('AlertList', alertListSchema, 'output')
    .schema('CreateEscalationPolicyRequest', createPolicyRequestSchema, 'input')
    .schema('UpdateEscalationPolicyRequest', updatePolicyRequestSchema, 'input')
    .schema('EscalationPolicy', policyViewSchema, 'output')
    .schema('EscalationPolicyList', policyListSchema, 'output')
    .schema('CreateOnCallScheduleRequest', createOnCallScheduleRequestSchema, 'input')
    .schema('UpdateOnCallScheduleRequest', updateOnCallScheduleRequestSchema, 'input')
    .schema('OnCallSchedule', onCallScheduleViewSchema, 'output')
    .schema('OnCallNow', onCallNowSchema, 'output')
    .schema('OnCallShifts', onCallRangeSchema, 'output')
    .schema('PagingContactRequest', pagingContactSchema, 'input')
    .schema('PagingContact', pagingContactSchema, 'output')
    .schema('OnCallScheduleList', onCallScheduleListSchema, 'output');
}
