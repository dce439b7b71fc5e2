import { pino, type Logger } from 'pino';

export type { Logger };

/** Secrets never reach logs: these paths are replaced wherever they appear. */
const REDACT = [
  'password',
  '*.password',
  '*.currentPassword',
  '*.newPassword',
  'token',
  '*.token',
  'accessToken',
  '*.accessToken',
  'refreshToken',
  '*.refreshToken',
  'req.headers.authorization',
  'req.headers.cookie',
  '*.secret',
  'conn_str',
  // Integration secrets (private keys, passphrases, tokens), wherever a request body is logged.
  'secrets',
  '*.secrets',
  '*.privateKey',
  '*.passphrase',
];

export function createLogger(opts: { level: string; name: string }): Logger {
  return pino({ name: opts.name, level: opts.level, redact: { paths: REDACT, censor: '[redacted]' } });
}
