import { createHash } from 'node:crypto';
import Router from '@koa/router';
import coBody from 'co-body';
import {
  ackLinkQuerySchema,
  alertActionRequestSchema,
  alertPathSchema,
  alertmanagerPayloadSchema,
  ALERT_SEVERITIES,
  createPolicyRequestSchema,
  genericAlertSchema,
  ingestQuerySchema,
  listAlertsQuerySchema,
  listPoliciesQuerySchema,
  policyPathSchema,
  updatePolicyRequestSchema,
  type AlertmanagerPayload,
  type AlertSeverity,
  type GenericAlert,
} from '../../contracts/alerts/index.ts';
import type { AppContext, AppDeps, AppRouter, AppState } from '../context.ts';
import { authenticate, bearerToken } from '../middleware/auth.ts';
import { rateLimitPerUser } from '../middleware/rate-limit.ts';
import { ackByLink, alertDetail, alertsPage, authenticateSource, decideByUser, ingestAlert, type AlertSource } from '../services/alerts.ts';
import { slackAction } from '../services/alerts-slack.ts';
import { createPolicy, listPolicies, policyFor, toPolicyView, updatePolicy } from '../services/alerts-policies.ts';

const PUBLIC_PATHS = new Set(['alertmanager', 'ack-link', 'slack', 'grafana', 'twilio']);
const caller = (ctx: AppContext) => ({ principal: ctx.state.principal, ip: ctx.ip });

/** Alertmanager's alerts in OpsSight's shape: its fingerprint is the dedup key (labels hashed when absent). */
function fromAlertmanager(payload: AlertmanagerPayload): GenericAlert[] {
  return payload.alerts.map((a) => {
    const labels = a.labels;
    const severity = (ALERT_SEVERITIES as readonly string[]).includes(labels.severity ?? '') ? (labels.severity as AlertSeverity) : 'error';
    const key = a.fingerprint ?? createHash('sha256').update(JSON.stringify(Object.entries(labels).sort())).digest('hex').slice(0, 32);
    return {
      dedupKey: `alertmanager:${key}`,
      status: a.status,
      summary: (a.annotations?.summary ?? a.annotations?.description ?? labels.alertname ?? 'alert from Alertmanager').slice(0, 1000),
      severity,
      labels,
      details: { annotations: a.annotations ?? {}, startsAt: a.startsAt, generatorURL: a.generatorURL, externalURL: payload.externalURL, groupKey: payload.groupKey },
    };
  });
}

/**
 * Ingest (authenticated by the source's token, not a person's) and the emailed acknowledgement links
 * (authenticated by the link itself). Mounted before the people's router, whose `/alerts/:id` would
 * otherwise claim `/alerts/ack-link`.
 */
function publicAlertRoutes(deps: AppDeps): AppRouter {
  const router = new Router<AppState>({ prefix: '/api/v1' });
  const source = async (ctx: AppContext): Promise<AlertSource> => {
    const { source: id } = ingestQuerySchema.parse(ctx.query);
    return authenticateSource(deps, ctx.state.em, id, bearerToken(ctx.get('Authorization')));
  };

  router.post('/alerts', async (ctx) => {
    const from = await source(ctx);
    const alert = genericAlertSchema.parse(ctx.request.body ?? {});
    ctx.status = 202;
    ctx.body = { alerts: [await ingestAlert(deps, ctx.state.em, from, alert)] };
  });

  router.post('/alerts/alertmanager', async (ctx) => {
    const from = await source(ctx);
    const alerts = fromAlertmanager(alertmanagerPayloadSchema.parse(ctx.request.body ?? {}));
    const outcomes = [];
    for (const alert of alerts) outcomes.push(await ingestAlert(deps, ctx.state.em, from, alert));
    ctx.status = 202;
    ctx.body = { alerts: outcomes };
  });

  // The link in the email opens a page; only its button (a POST) acknowledges, so a mail scanner
  // fetching links does not use it up.
  router.get('/alerts/ack-link', async (ctx) => {
    const { token } = ackLinkQuerySchema.parse(ctx.query);
    ctx.type = 'text/html';
    ctx.body = `<!doctype html><meta charset="utf-8"><title>Acknowledge alert</title><form method="post" action="/api/v1/alerts/ack-link?token=${encodeURIComponent(token)}"><button type="submit">Acknowledge the alert</button></form>`;
  });
  router.post('/alerts/ack-link', async (ctx) => {
    const { token } = ackLinkQuerySchema.parse(ctx.query);
    ctx.body = await ackByLink({ ...deps, jwtSecret: deps.config.JWT_SECRET }, ctx.state.em, token, ctx.ip);
  });
  // Slack's interactivity requests are form-encoded and signed over the raw body, so it is read here as text.
  router.post('/alerts/slack/actions', async (ctx) => {
    const { source: id } = ingestQuerySchema.parse(ctx.query);
    // A JSON body (already parsed) is not Slack's; its signature check fails on the re-serialised text.
    const raw = ctx.request.body !== undefined ? JSON.stringify(ctx.request.body) : await coBody.text(ctx, { limit: '64kb' });
    ctx.body = await slackAction(deps, ctx.state.em, id, { timestamp: ctx.get('X-Slack-Request-Timestamp'), signature: ctx.get('X-Slack-Signature') }, raw, ctx.ip);
  });
  return router;
}

/** Alerts and escalation policies for people: reading needs runs:read, ack/resolve alerts:ack, policies alerts:manage. */
function peopleAlertRoutes(deps: AppDeps): AppRouter {
  const router = new Router<AppState>({ prefix: '/api/v1' });
  router.use(authenticate(deps), rateLimitPerUser(deps));

  router.get('/alerts', async (ctx) => {
    const q = listAlertsQuerySchema.parse(ctx.query);
    ctx.body = await alertsPage(ctx.state.em, ctx.state.principal, q);
  });
  // `/alerts/alertmanager` and `/alerts/ack-link` are the public router's: another method on them is a
  // 405 (methodNotAllowed), not a malformed alert id.
  router.get('/alerts/:id', async (ctx, next) => {
    if (PUBLIC_PATHS.has(ctx.params.id ?? '')) return;
    await next();
  });
  router.get('/alerts/:id', async (ctx) => {
    const { id } = alertPathSchema.parse(ctx.params);
    ctx.body = await alertDetail(ctx.state.em, ctx.state.principal, id);
  });
  for (const action of ['ack', 'resolve'] as const) {
    router.post(`/alerts/:id/${action}`, async (ctx) => {
      const { id } = alertPathSchema.parse(ctx.params);
      const { note } = alertActionRequestSchema.parse(ctx.request.body ?? {});
      ctx.body = await decideByUser(deps, ctx.state.em, caller(ctx), id, action, note);
    });
  }

  router.get('/escalation-policies', async (ctx) => {
    const { team } = listPoliciesQuerySchema.parse(ctx.query);
    ctx.body = { policies: await listPolicies(ctx.state.em, ctx.state.principal, team) };
  });
  router.post('/escalation-policies', async (ctx) => {
    const body = createPolicyRequestSchema.parse(ctx.request.body ?? {});
    const view = await createPolicy(ctx.state.em, caller(ctx), body);
    ctx.status = 201;
    ctx.set('Location', `/api/v1/escalation-policies/${view.id}`);
    ctx.body = view;
  });
  router.get('/escalation-policies/:id', async (ctx) => {
    const { id } = policyPathSchema.parse(ctx.params);
    ctx.body = toPolicyView(await policyFor(ctx.state.em, ctx.state.principal, id));
  });
  router.put('/escalation-policies/:id', async (ctx) => {
    const { id } = policyPathSchema.parse(ctx.params);
    const body = updatePolicyRequestSchema.parse(ctx.request.body ?? {});
    ctx.body = await updatePolicy(ctx.state.em, caller(ctx), id, body);
  });
  return router;
}

export const alertRoutes = (deps: AppDeps): AppRouter[] => [publicAlertRoutes(deps), peopleAlertRoutes(deps)];
