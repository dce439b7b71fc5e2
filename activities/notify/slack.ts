import { WebClient } from '@slack/web-api';
import type { SlackSecrets, SlackSettings } from '../../contracts/integrations/slack.ts';

export type SlackAlert = { id: string; summary: string; severity: string; dedupKey: string; count: number };

/**
 * The escalation as a Slack message, the same through chat.postMessage and an incoming webhook.
 * With `buttons`, Acknowledge / Resolve (their value is the alert id; clicks come back to
 * /api/v1/alerts/slack/actions): only where the app behind it verifies clicks with a signing secret.
 */
export function slackMessage(alert: SlackAlert, buttons: boolean) {
  const text = `[${alert.severity.toUpperCase()}] ${alert.summary}`;
  const section = { type: 'section' as const, text: { type: 'mrkdwn' as const, text: `*${text.replace(/[<>&]/g, '')}*\nAlert \`${alert.id}\` (${alert.dedupKey.replace(/[<>&`]/g, '')}), seen ${alert.count} time(s)` } };
  const actions = {
    type: 'actions' as const,
    elements: [
      { type: 'button' as const, action_id: 'ack', text: { type: 'plain_text' as const, text: 'Acknowledge' }, value: alert.id, style: 'primary' as const },
      { type: 'button' as const, action_id: 'resolve', text: { type: 'plain_text' as const, text: 'Resolve' }, value: alert.id },
    ],
  };
  return { text, blocks: buttons ? [section, actions] : [section] };
}

/**
 * Posts the escalation to the channel with its buttons. Returns the message's ts, Slack's id for it.
 * The client's own retries are off: Temporal retries the attempt, and each one is recorded.
 */
export async function postToSlack(settings: SlackSettings, secrets: SlackSecrets, alert: SlackAlert): Promise<string> {
  const client = new WebClient(secrets.botToken, { slackApiUrl: settings.apiUrl, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true, timeout: 15_000 });
  const res = await client.chat.postMessage({ channel: settings.channel, ...slackMessage(alert, true) });
  return String(res.ts);
}
