import { expect, it } from '@jest/globals';
import { signAckLink, verifyAckLink } from '../../core/alerts/ack-links.ts';

const secret = 'a-jwt-secret-of-at-least-32-characters!!';
const claims = { link: crypto.randomUUID(), alert: crypto.randomUUID(), exp: Date.now() + 60_000 };

it('an ack link verifies under its secret until it expires, and not when changed or signed by another key', () => {
  const token = signAckLink(secret, claims);
  expect(verifyAckLink(secret, token)).toEqual(claims);
  expect(verifyAckLink(secret, token, claims.exp + 1)).toBeNull();
  expect(verifyAckLink('another-secret-of-at-least-32-characters', token)).toBeNull();
  const [payload, mac] = token.split('.') as [string, string];
  const otherAlert = Buffer.from(JSON.stringify({ ...claims, alert: crypto.randomUUID() })).toString('base64url');
  expect(verifyAckLink(secret, `${otherAlert}.${mac}`)).toBeNull();
  expect(verifyAckLink(secret, `${payload}.`)).toBeNull();
  expect(verifyAckLink(secret, payload)).toBeNull();
});
