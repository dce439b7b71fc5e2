import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Acknowledgement links in escalation email: `<payload>.<HMAC-SHA256>` under a key derived from
 * JWT_SECRET, naming an alert_ack_links row. The signature stops forgery and tampering; the row makes
 * a link single-use (its usedAt is set in the same statement that checks it).
 */
export type AckLinkClaims = { link: string; alert: string; exp: number };

const keyOf = (secret: string) => createHmac('sha256', secret).update('opssight alert ack links v1').digest();
const sign = (secret: string, payload: string) => createHmac('sha256', keyOf(secret)).update(payload).digest('base64url');

export function signAckLink(secret: string, claims: AckLinkClaims): string {
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return `${payload}.${sign(secret, payload)}`;
}

/** The claims of a genuine, unexpired token; null for anything else. */
export function verifyAckLink(secret: string, token: string, nowMs = Date.now()): AckLinkClaims | null {
  const [payload, mac] = token.split('.');
  if (!payload || !mac) return null;
  const expected = Buffer.from(sign(secret, payload));
  const given = Buffer.from(mac);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as AckLinkClaims;
    return typeof claims.link === 'string' && typeof claims.alert === 'string' && typeof claims.exp === 'number' && claims.exp > nowMs ? claims : null;
  } catch {
    return null;
  }
}
