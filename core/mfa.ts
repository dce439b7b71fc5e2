import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { generateSecret, generateURI, verify } from 'otplib';
import type QRCodeModule from 'qrcode';
import { DomainError } from './errors.ts';
import { onFirstUse } from './first-use.ts';

const qrCode = onFirstUse<typeof QRCodeModule>('qrcode');

/** What authenticator apps show the account under. */
const ISSUER = 'OpsSight';
export const RECOVERY_CODE_COUNT = 10;

/** The password was right and the account has a second factor: ask for it (not a failed guess). */
export class MfaRequiredError extends DomainError {
  constructor() {
    super(401, 'Second factor required', 'this account has multi-factor authentication: send the code of your authenticator (or a recovery code) as mfaCode', { mfaRequired: true });
  }
}

/** A new TOTP secret for `email`, its otpauth:// URL and that URL as a QR code (PNG data URL). */
export async function newTotpEnrolment(email: string): Promise<{ secret: string; otpauthUrl: string; qrCode: string }> {
  const secret = generateSecret();
  const otpauthUrl = generateURI({ issuer: ISSUER, label: email, secret });
  return { secret, otpauthUrl, qrCode: await qrCode().toDataURL(otpauthUrl) };
}

/**
 * The time step `code` is valid at, or null. One step either side is accepted (clock drift), and no
 * step at or before `lastStep`: a code that was accepted once is never accepted again (replay).
 */
export async function totpStep(secret: string, code: string, lastStep: number | null): Promise<number | null> {
  if (!/^\d{6}$/.test(code)) return null;
  const result = await verify({ secret, token: code, epochTolerance: 30, ...(lastStep !== null ? { afterTimeStep: lastStep } : {}) });
  return result.valid && 'timeStep' in result ? result.timeStep : null;
}

// Recovery codes carry 80 random bits: like API tokens, a fast hash is enough to store them (nobody can
// brute-force 2^80), and it lets a code be found without a slow hash per stored code.
export const hashRecoveryCode = (code: string): string => createHash('sha256').update(code.replace(/[\s-]/g, '').toLowerCase()).digest('hex');

/** Ten fresh codes, `xxxx-xxxx-xxxx-xxxx` (hex), shown once; only their hashes are kept. */
export function newRecoveryCodes(): { codes: string[]; stored: { hash: string; usedAt: string | null }[] } {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, () => randomBytes(8).toString('hex').match(/.{4}/g)!.join('-'));
  return { codes, stored: codes.map((c) => ({ hash: hashRecoveryCode(c), usedAt: null })) };
}

/** The index of the unused stored code `code` is, or -1 (compared in constant time). */
export function matchRecoveryCode(stored: { hash: string; usedAt: string | null }[], code: string): number {
  const wanted = Buffer.from(hashRecoveryCode(code), 'hex');
  let found = -1;
  stored.forEach((s, i) => {
    if (timingSafeEqual(Buffer.from(s.hash, 'hex'), wanted) && s.usedAt === null && found < 0) found = i;
  });
  return found;
}
