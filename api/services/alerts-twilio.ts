import type { EntityManager } from '@mikro-orm/postgresql';
import type Twilio from 'twilio';
import type { TwilioSecrets, TwilioSettings } from '../../contracts/integrations/twilio.ts';
import { parseSmsAck, smsAckRecipient } from '../../core/alerts/sms-codes.ts';
import { AuthenticationError, ConflictError } from '../../core/errors.ts';
import { onFirstUse } from '../../core/first-use.ts';
import { loadIntegrationSecret } from '../../core/integrations/store.ts';
import { IntegrationSchema } from '../../db/entities/index.ts';
import { useAckLink } from '../../db/repositories/alerts.ts';
import { decide } from './alerts.ts';

const twilio = onFirstUse<typeof Twilio>('twilio');

/**
 * An SMS reply to a page, as Twilio's messaging webhook delivers it. Refused (401) unless
 * X-Twilio-Signature is valid for `url` (the address Twilio was told to call, query included) under
 * the integration's auth token and the message is to the integration's account. "ACK <code>" from
 * the number that code was sent to acknowledges its alert, once. Answers the reply text.
 */
export async function twilioSmsReply(deps: Parameters<typeof decide>[0], em: EntityManager, integrationId: string, signature: string, url: string, params: Record<string, string>): Promise<string> {
  const row = await em.findOne(IntegrationSchema, { id: integrationId, type: 'twilio' }, { populate: ['team'] });
  if (!row) throw new AuthenticationError('not a Twilio integration, or a bad signature');
  const teamId = (row.team as unknown as { id: string }).id;
  const { settings, secrets } = await loadIntegrationSecret(em, deps.keyring, { teamId, integrationId, type: 'twilio' });
  if (!signature || !twilio().validateRequest((secrets as TwilioSecrets).authToken, signature, url, params) || params.AccountSid !== (settings as TwilioSettings).accountSid) {
    throw new AuthenticationError('not a Twilio integration, or a bad signature');
  }
  const code = parseSmsAck(params.Body ?? '');
  if (!code || !params.From) return 'Reply ACK followed by the code in the page to acknowledge it.';
  const unknown = `Code ${code} is unknown, used or expired.`;
  const rows = await em.fork().execute<{ id: string; alert_id: string }[]>(
    `select l.id, l.alert_id from alert_ack_links l join alerts a on a.id = l.alert_id
      where a.team_id = ? and l.recipient = ? and l.used_at is null and l.expires_at > now()`,
    [teamId, smsAckRecipient(params.From, code)],
  );
  if (!rows[0]) return unknown;
  const link = rows[0];
  try {
    // The code is spent in the decision's transaction: a decision that fails leaves it usable.
    const alert = await decide(deps, em, link.alert_id, 'ack', async (tx) => {
      if (!(await useAckLink(tx, link.id))) throw new ConflictError(unknown);
      return { by: `${params.From} (sms)`, via: 'sms', actor: null, data: { from: params.From } };
    });
    return `Acknowledged: ${alert.summary.slice(0, 120)}`;
  } catch (err) {
    if (err instanceof ConflictError) return err.message === unknown ? unknown : 'This alert is already resolved.';
    throw err;
  }
}

/** The TwiML answer to an SMS: Twilio texts `text` back to its sender. */
export function smsReplyXml(text: string): string {
  const reply = new (twilio().twiml.MessagingResponse)();
  reply.message(text);
  return reply.toString();
}
