import { z } from 'zod';

const HTTPS = /^https:\/\/[A-Za-z0-9.\-[\]:]+(\/\S*)?$/;
// Plain http:// only on loopback (kubectl proxy, a local proxy, a test peer): credentials sent to the
// system must never cross a network unencrypted.
const LOOPBACK_HTTP = /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d{1,5})?(\/\S*)?$/;

/** The address of a system an integration sends credentials to; `expected` says what is wanted, in the refusal. */
export const credentialedUrl = (expected: string) =>
  z
    .string()
    .trim()
    .max(1024)
    .refine((s) => HTTPS.test(s) || LOOPBACK_HTTP.test(s), `${expected} (http:// only on loopback)`);
