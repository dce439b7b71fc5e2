import { z } from 'zod';

/** A pasted PEM block (certificate or key): CRLF from some editors becomes LF. */
export const pemSchema = (what: 'CERTIFICATE' | 'PRIVATE KEY') =>
  z
    .string()
    .max(64 * 1024)
    .transform((s) => s.replace(/\r\n?/g, '\n').trim())
    .pipe(
      z
        .string()
        .regex(
          what === 'CERTIFICATE'
            ? /^(-----BEGIN CERTIFICATE-----\n[\s\S]+?\n-----END CERTIFICATE-----\n*)+$/
            : /^-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----\n[\s\S]+\n-----END [A-Z0-9 ]*PRIVATE KEY-----$/,
          what === 'CERTIFICATE' ? 'must be PEM certificates (-----BEGIN CERTIFICATE-----)' : 'must be a PEM private key (-----BEGIN … PRIVATE KEY-----)',
        ),
    )
    .transform((s) => `${s}\n`);
