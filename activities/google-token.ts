import { importPKCS8, SignJWT } from 'jose';

/** The token endpoint refused the service account (or its key cannot be used): no retry fixes it. */
export class GoogleTokenRefused extends Error {
  /** The HTTP status the endpoint answered; 0 when the key could not be read. */
  readonly status: number;
  /** The OAuth error code (`invalid_grant`, …), or `invalid_key`. */
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'GoogleTokenRefused';
    this.status = status;
    this.code = code;
  }
}

export type ServiceAccount = { clientEmail: string; privateKey: string; tokenUri: string };

/**
 * A service-account access token: the OAuth 2.0 JWT bearer grant (RFC 7523), as Google documents for
 * server-to-server calls — a JWT signed with the account's key is exchanged at the key file's
 * token_uri, which is also the JWT's audience. Google's client libraries fix the endpoint in their
 * code; this takes it from the key file, so a private endpoint or a test peer is the key file's choice.
 * A refusal (400, 401) or an unreadable key is GoogleTokenRefused; anything else (5xx, 429) a plain
 * Error that may pass on a retry.
 */
export async function serviceAccountToken(account: ServiceAccount, scope: string): Promise<{ token: string; until: number }> {
  let signingKey;
  try {
    signingKey = await importPKCS8(account.privateKey, 'RS256');
  } catch (err) {
    throw new GoogleTokenRefused(0, 'invalid_key', `the service account's private key cannot be read: ${(err as Error).message}`);
  }
  const now = Math.floor(Date.now() / 1000);
  const assertion = await new SignJWT({ scope })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
    .setIssuer(account.clientEmail)
    .setSubject(account.clientEmail)
    .setAudience(account.tokenUri)
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(signingKey);
  const res = await fetch(account.tokenUri, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }),
    signal: AbortSignal.timeout(15_000),
  });
  const body = (await res.json().catch(() => ({}))) as { access_token?: string; expires_in?: number; error?: string; error_description?: string };
  if (res.ok && body.access_token) return { token: body.access_token, until: Date.now() + (body.expires_in ?? 3600) * 1000 };
  const why = `the token endpoint refused the service account (HTTP ${res.status}): ${body.error ?? ''} ${body.error_description ?? ''}`.trim();
  // A wrong, deleted or disabled key stays so (invalid_grant); anything else may pass on a retry.
  if (res.status === 400 || res.status === 401) throw new GoogleTokenRefused(res.status, body.error ?? String(res.status), why);
  throw new Error(why);
}
