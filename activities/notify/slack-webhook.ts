import { IncomingWebhook, IncomingWebhookHTTPError, IncomingWebhookRequestError } from '@slack/webhook';
import { ApplicationFailure } from '@temporalio/common';
import type { SlackWebhookSecrets } from '../../contracts/integrations/slack-webhook.ts';
import { slackMessage, type SlackAlert } from './slack.ts';

const MAX_RETRY_AFTER_S = 60;

/**
 * Posts the escalation through an incoming webhook. Slack answers 200 "ok" and nothing else (no
 * message id). The library's retries stay off: Temporal retries the attempt (each one recorded) on a
 * 5xx, a 429 (after its Retry-After) or no answer; a 4xx is Slack's settled refusal (invalid_payload,
 * no_service for a revoked webhook, channel_is_archived…) and is not retried.
 *
 * The URL is the credential: no message built here names it, and the library's errors (whose
 * causes can quote it) are replaced, never passed on.
 */
export async function postToSlackWebhook(secrets: SlackWebhookSecrets, alert: SlackAlert): Promise<void> {
  let retryAfter: string | null = null;
  const hook = new IncomingWebhook(secrets.webhookUrl, {
    timeout: 15_000,
    // Only to read Retry-After, which the library's error leaves out.
    fetch: async (url, init) => {
      const res = await fetch(url, init);
      retryAfter = res.headers.get('retry-after');
      return res;
    },
  });
  try {
    await hook.send(slackMessage(alert, secrets.signingSecret !== undefined));
  } catch (err) {
    throw failureOf(err, retryAfter);
  }
}

function failureOf(err: unknown, retryAfter: string | null): ApplicationFailure {
  if (err instanceof IncomingWebhookHTTPError) {
    // Slack's body is a short error code; anything longer is not Slack's and not worth keeping.
    const said = /^[\w.-]{1,100}$/.test(err.body.trim()) ? `: ${err.body.trim()}` : '';
    const message = `Slack's incoming webhook answered HTTP ${err.statusCode}${said}`;
    if (err.statusCode === 429) {
      const seconds = Number(retryAfter);
      const wait = Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds, MAX_RETRY_AFTER_S) : undefined;
      return ApplicationFailure.create({ message, type: 'SlackRateLimited', nextRetryDelay: wait === undefined ? undefined : wait * 1000 });
    }
    if (err.statusCode >= 500) return ApplicationFailure.retryable(message, 'SlackUnavailable');
    return ApplicationFailure.nonRetryable(message, 'SlackWebhookRefused');
  }
  if (err instanceof IncomingWebhookRequestError) {
    const cause = err.original as Error & { cause?: { code?: string } };
    return ApplicationFailure.retryable(`Slack's incoming webhook did not answer (${cause.cause?.code ?? cause.name})`, 'SlackUnreachable');
  }
  return ApplicationFailure.retryable(`posting to Slack's incoming webhook failed (${(err as Error).name})`, 'SlackUnreachable');
}
