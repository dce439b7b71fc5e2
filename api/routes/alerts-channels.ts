import { createHash } from 'node:crypto';
import Router from '@koa/router';
import coBody from 'co-body';
import { ALERT_SEVERITIES, ingestQuerySchema, type AlertSeverity, type GenericAlert } from '../../contracts/alerts/index.ts';
import { grafanaPayloadSchema, type GrafanaPayload } from '../../contracts/alerts/grafana.ts';
import type { AppContext, AppDeps, AppRouter, AppState } from '../context.ts';
import { bearerToken } from '../middleware/auth.ts';
import { authenticateSource, ingestAlert } from '../services/alerts.ts';
import { smsReplyXml, twilioSmsReply } from '../services/alerts-twilio.ts';

/** Grafana's alerts in OpsSight's shape: its fingerprint is the dedup key (labels hashed when absent). */
function fromGrafana(payload: GrafanaPayload): GenericAlert[] {
  return payload.alerts.map((a) => {
    const labels = a.labels;
    const severity = (ALERT_SEVERITIES as readonly string[]).includes(labels.severity ?? '') ? (labels.severity as AlertSeverity) : 'error';
    const key = a.fingerprint ?? createHash('sha256').update(JSON.stringify(Object.entries(labels).sort())).digest('hex').slice(0, 32);
    return {
      dedupKey: `grafana:${key}`,
      status: a.status,
      summary: (a.annotations?.summary ?? a.annotations?.description ?? labels.alertname ?? 'alert from Grafana').slice(0, 1000),
      severity,
      labels,
      details: { annotations: a.annotations ?? {}, startsAt: a.startsAt, generatorURL: a.generatorURL, dashboardURL: a.dashboardURL, panelURL: a.panelURL, values: a.values ?? null, externalURL: payload.externalURL, groupKey: payload.groupKey },
    };
  });
}

/**
 * Ingest from Grafana (authenticated by the alert source's token like the other ingest routes) and
 * SMS replies from Twilio (authenticated by Twilio's request signature).
 */
export function alertChannelRoutes(deps: AppDeps): AppRouter {
  const router = new Router<AppState>({ prefix: '/api/v1' });

  router.post('/alerts/grafana', async (ctx) => {
    const { source: id } = ingestQuerySchema.parse(ctx.query);
    const from = await authenticateSource(deps, ctx.state.em, id, bearerToken(ctx.get('Authorization')));
    const alerts = fromGrafana(grafanaPayloadSchema.parse(ctx.request.body ?? {}));
    const outcomes = [];
    for (const alert of alerts) outcomes.push(await ingestAlert(deps, ctx.state.em, from, alert));
    ctx.status = 202;
    ctx.body = { alerts: outcomes };
  });

  // Twilio posts form-encoded fields and signs the URL it was given plus those fields, so the URL is
  // rebuilt as Twilio knows it: PUBLIC_URL when set (behind a proxy), else the address asked for.
  router.post('/alerts/twilio/sms', async (ctx: AppContext) => {
    const { source: id } = ingestQuerySchema.parse(ctx.query);
    const params = ctx.request.body !== undefined ? {} : ((await coBody.form(ctx, { limit: '64kb' })) as Record<string, string>);
    const base = (deps.config.PUBLIC_URL || `${ctx.protocol}://${ctx.host}`).replace(/\/$/, '');
    const text = await twilioSmsReply(deps, ctx.state.em, id, ctx.get('X-Twilio-Signature'), `${base}${ctx.originalUrl}`, params);
    ctx.type = 'text/xml';
    ctx.body = smsReplyXml(text);
  });
  return router;
}
