import { WebClient } from '@slack/web-api';
import type { SlackSecrets, SlackSettings } from '../../contracts/integrations/slack.ts';

type AlertSummary = { id: string; summary: string; severity: string; dedupKey: string; count: number };

/**
 * Posts the escalation to the channel with Acknowledge / Resolve buttons (their value is the alert
 * id; clicks come back to /api/v1/alerts/slack/actions). Returns the message's ts, Slack's id for it.
 * The client's own retries are off: Temporal retries the attempt, and each one is recorded.
 */
export async function postToSlack(settings: SlackSettings, secrets: SlackSecrets, alert: AlertSummary): Promise<string> {
  const client = new WebClient(secrets.botToken, { slackApiUrl: settings.apiUrl, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true, timeout: 15_000 });
  const text = `[${alert.severity.toUpperCase()}] ${alert.summary}`;
  const res = await client.chat.postMessage({
    channel: settings.channel,
    text,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `*${text.replace(/[<>&]/g, '')}*\nAlert \`${alert.id}\` (${alert.dedupKey.replace(/[<>&`]/g, '')}), seen ${alert.count} time(s)` } },
      {
        type: 'actions',
        elements: [
          { type: 'button', action_id: 'ack', text: { type: 'plain_text', text: 'Acknowledge' }, value: alert.id, style: 'primary' },
          { type: 'button', action_id: 'resolve', text: { type: 'plain_text', text: 'Resolve' }, value: alert.id },
        ],
      },
    ],
  });
  return String(res.ts);
}
