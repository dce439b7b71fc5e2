import { randomInt } from 'node:crypto';

/**
 * An SMS page's acknowledgement code: six digits the person types back ("ACK 123456"). It is kept as
 * an alert_ack_links row whose recipient names the phone and the code, so a reply is matched by the
 * number it comes from and the code together, and used once like an emailed link.
 */
export const smsAckCode = () => String(randomInt(0, 1_000_000)).padStart(6, '0');
export const smsAckRecipient = (phone: string, code: string) => `sms:${phone}#${code}`;

/** The code in a reply: "ACK 123456", any case, spaces around; anything else is not an acknowledgement. */
export function parseSmsAck(body: string): string | null {
  return /^\s*ack\s+(\d{6})\s*$/i.exec(body)?.[1] ?? null;
}
