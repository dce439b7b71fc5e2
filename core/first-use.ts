import { createRequire } from 'node:module';

const requireHere = createRequire(import.meta.url);

/**
 * A CommonJS package loaded when first called for, not when the module naming it is imported. For
 * libraries that every API process imports and few requests use (ssh2's key parser, Twilio's request
 * signature, SAML, the MFA enrolment's QR code): together they were a fifth of the CPU of importing the
 * API (about 0.4 s of each API start, and of each test file that starts one).
 */
export function onFirstUse<T>(specifier: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= requireHere(specifier) as T);
}
