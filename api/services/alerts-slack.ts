import { createHmac, timingSafeEqual } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import type { SlackSecrets } from '../../contracts/integrations/slack.ts';
import { AuthenticationError, ConflictError, InputError, NotFoundError } from '../../core/errors.ts';
import { loadIntegrationSecret } from '../../core/integrations/store.ts';
import type { Keyring } from '../../core/secrets/keyring.ts';
import { AlertSchema, IntegrationSchema } from '../../db/entities/index.ts';
import type { AlertAnnouncer } from '../../core/alerts/announce.ts';
import { decide } from './alerts.ts';

const MAX_SKEW_S = 300;
const actionPayloadSchema = z.object({
  type: z.literal('block_actions'),
  user: z.object({ id: z.string().max(100), username: z.string().max(200).optional(), name: z.string().max(200).optional() }),
  actions: z.array(z.object({ action_id: z.enum(['ack', 'resolve']), value: z.uuid() })).min(1),
});

/** Slack's request signature: `v0=` + hex HMAC-SHA256 of `v0:<timestamp>:<raw body>` under the app's signing secret. */
export function slackSignature(signingSecret: string, timestamp: string, rawBody: string): string {
  return `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${rawBody}`).digest('hex')}`;
}

/**
 * A click on an Acknowledge / Resolve button of a message a `slack` or `slack-webhook` integration posted. Refused
 * (401) unless signed with that integration's signing secret within five minutes; the alert must be
 * of the integration's team. Answers the text Slack shows the person.
 */
export async function slackAction(deps: { temporal: Client; keyring: Keyring } & AlertAnnouncer, em: EntityManager, integrationId: string, headers: { timestamp: string; signature: string }, rawBody: string, ip: string): Promise<{ text: string }> {
  const row = await em.findOne(IntegrationSchema, { id: integrationId, type: { $in: ['slack', 'slack-webhook'] } }, { populate: ['team'] });
  if (!row) throw new AuthenticationError('not a Slack integration, or a bad signature');
  const teamId = (row.team as unknown as { id: string }).id;
  const { secrets } = await loadIntegrationSecret(em, deps.keyring, { teamId, integrationId });
  // An incoming webhook kept without the app's signing secret posts no buttons, so no click is its.
  const { signingSecret } = secrets as Partial<SlackSecrets>;
  if (!signingSecret) throw new AuthenticationError('not a Slack integration, or a bad signature');
  const ts = Number(headers.timestamp);
  const expected = Buffer.from(slackSignature(signingSecret, headers.timestamp, rawBody));
  const given = Buffer.from(headers.signature);
  if (!Number.isFinite(ts) || Math.abs(Date.now() / 1000 - ts) > MAX_SKEW_S || given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new AuthenticationError('not a Slack integration, or a bad signature');
  }
  let payload: z.infer<typeof actionPayloadSchema>;
  try {
    payload = actionPayloadSchema.parse(JSON.parse(new URLSearchParams(rawBody).get('payload') ?? ''));
  } catch {
    throw new InputError('not a block_actions payload with an ack or resolve button', [{ field: 'payload', message: 'unexpected shape' }]);
  }
  const action = payload.actions[0]!;
  if (!(await em.count(AlertSchema, { id: action.value, team: teamId }))) throw new NotFoundError('alert not found');
  const by = `slack:${payload.user.username ?? payload.user.name ?? payload.user.id}`;
  try {
    const alert = await decide(deps, em, action.value, action.action_id, { by, via: 'slack', actor: null, ip, data: { slackUserId: payload.user.id, integration: integrationId } });
    return { text: `${action.action_id === 'ack' ? 'Acknowledged' : 'Resolved'} by ${by}: ${alert.summary}` };
  } catch (err) {
    // Slack shows whatever a click answers; "already resolved" is news, not an error.
    if (err instanceof ConflictError) return { text: 'This alert is already resolved.' };
    throw err;
  }
}
