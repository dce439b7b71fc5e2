import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { FcmSecrets, FcmSettings } from '../../contracts/integrations/fcm.ts';
import { GoogleTokenRefused, serviceAccountToken } from '../google-token.ts';

type AlertSummary = { id: string; summary: string; severity: string };

const SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
/**
 * Access tokens by service account, key and token endpoint, reused until a minute before they expire.
 * The exchange itself is shared: pushes to several devices start together and would each ask.
 */
const tokens = new Map<string, Promise<{ token: string; until: number }>>();

// A replaced key must not keep using the token the old one earned.
const cacheKey = (settings: FcmSettings, secrets: FcmSecrets) => `${settings.clientEmail} ${settings.tokenUri} ${createHash('sha256').update(secrets.serviceAccountKey).digest('hex')}`;

async function accessToken(settings: FcmSettings, secrets: FcmSecrets): Promise<string> {
  const key = cacheKey(settings, secrets);
  const known = tokens.get(key);
  const got = known && (await known.catch(() => null));
  if (got && got.until > Date.now()) return got.token;
  // Another caller may have started a fresh exchange while this one waited: join it.
  let pending = tokens.get(key);
  if (pending === known) {
    pending = exchange(settings, secrets);
    tokens.set(key, pending);
    pending.catch(() => tokens.get(key) === pending && tokens.delete(key));
  }
  return (await pending!).token;
}

/** The shared JWT bearer exchange (activities/google-token.ts); a refusal or an unreadable key fails the attempt for good. */
async function exchange(settings: FcmSettings, secrets: FcmSecrets): Promise<{ token: string; until: number }> {
  try {
    const got = await serviceAccountToken({ clientEmail: settings.clientEmail, privateKey: secrets.serviceAccountKey, tokenUri: settings.tokenUri }, SCOPE);
    // Reused until a minute before it expires.
    return { token: got.token, until: got.until - 60_000 };
  } catch (err) {
    if (err instanceof GoogleTokenRefused) throw ApplicationFailure.nonRetryable(err.message, 'FcmPermanent');
    throw err;
  }
}

/**
 * Sends one alert notification to one device (POST v1/projects/{project}/messages:send). The provider
 * id is the message name FCM answers with. A device FCM no longer knows (UNREGISTERED, INVALID_ARGUMENT)
 * stays so: that attempt is not retried.
 */
export async function pushFcm(settings: FcmSettings, secrets: FcmSecrets, deviceToken: string, alert: AlertSummary): Promise<string> {
  const token = await accessToken(settings, secrets);
  const res = await fetch(`${settings.apiUrl.replace(/\/$/, '')}/v1/projects/${encodeURIComponent(settings.projectId)}/messages:send`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({
      message: {
        token: deviceToken,
        notification: { title: `[${alert.severity.toUpperCase()}] alert`, body: alert.summary.slice(0, 500) },
        data: { alertId: alert.id },
        android: { priority: 'high' },
        apns: { headers: { 'apns-priority': '10' } },
      },
    }),
    signal: AbortSignal.timeout(15_000),
  });
  const body = (await res.json().catch(() => ({}))) as { name?: string; error?: { code?: number; message?: string; status?: string; details?: Array<{ errorCode?: string }> } };
  if (res.ok && body.name) return body.name;
  const code = body.error?.details?.find((d) => d.errorCode)?.errorCode ?? body.error?.status ?? '';
  const why = `FCM refused the push (HTTP ${res.status}${code ? ` ${code}` : ''}): ${body.error?.message ?? ''}`.trim();
  // An access token FCM no longer accepts is dropped, so the retry asks for a new one.
  if (res.status === 401) tokens.delete(cacheKey(settings, secrets));
  if (code === 'UNREGISTERED' || code === 'INVALID_ARGUMENT' || code === 'SENDER_ID_MISMATCH') throw ApplicationFailure.nonRetryable(why, 'FcmPermanent');
  throw new Error(why);
}
