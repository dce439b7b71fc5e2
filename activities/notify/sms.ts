import { ApplicationFailure } from '@temporalio/common';
import twilio from 'twilio';
import type { TwilioSecrets, TwilioSettings } from '../../contracts/integrations/twilio.ts';

const TWILIO_API = 'https://api.twilio.com';

/**
 * The library's own HTTP client with Twilio's host swapped for `apiUrl` (another region's or a test
 * peer's): the twilio library has no base-URL option, but a custom `httpClient` is its documented
 * extension point, so everything else (auth, form encoding, error mapping) stays the library's.
 */
class BaseUrlRequestClient extends twilio.RequestClient {
  readonly base: string;
  constructor(base: string) {
    super({ timeout: 15_000, autoRetry: false });
    this.base = base;
  }
  override request<T>(opts: Parameters<twilio.RequestClient['request']>[0]) {
    return super.request<T>({ ...opts, uri: opts.uri.replace(TWILIO_API, this.base) } as Parameters<twilio.RequestClient['request']>[0] & { data?: T });
  }
}

/**
 * Sends one SMS through the Messages API; the provider id is the message SID. The library's own
 * retries stay off: Temporal retries the attempt and each one is recorded.
 *
 * Twilio's own answer (a RestException: status, code, message) is passed on. Anything else is the
 * HTTP client's error (no answer, a timeout, a dropped connection): an AxiosError whose request
 * carries the Authorization header (the account SID and auth token, base64) and which the worker's
 * log prints with the failed activity, so it is replaced by its error code alone and never kept as
 * a cause.
 */
export async function sendSms(settings: TwilioSettings, secrets: TwilioSecrets, to: string, body: string): Promise<string> {
  const base = settings.apiUrl.replace(/\/$/, '');
  const client = twilio(settings.accountSid, secrets.authToken, {
    httpClient: base === TWILIO_API ? new twilio.RequestClient({ timeout: 15_000, autoRetry: false }) : new BaseUrlRequestClient(base),
  });
  try {
    const message = await client.messages.create({ from: settings.from, to, body });
    return message.sid;
  } catch (err) {
    if (err instanceof twilio.RestException) throw err;
    throw unreachable(err);
  }
}

function unreachable(err: unknown): ApplicationFailure {
  const { code, name, response } = (err ?? {}) as { code?: unknown; name?: unknown; response?: { status?: unknown } };
  // Only values of a known shape: an error code (ECONNRESET, ECONNABORTED…), a class name, an HTTP status.
  const what = typeof code === 'string' && /^[A-Z_]{1,40}$/.test(code) ? code : typeof name === 'string' && /^\w{1,40}$/.test(name) ? name : 'unknown error';
  const status = typeof response?.status === 'number' ? `, HTTP ${response.status}` : '';
  return ApplicationFailure.retryable(`Twilio's Messages API did not answer (${what}${status})`, 'TwilioUnreachable');
}
