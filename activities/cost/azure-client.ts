import type { AzureSecrets, AzureSettings } from '../../contracts/integrations/azure.ts';
import { CloudAuthError, CloudHttpError } from './cloud-errors.ts';
import { restCall, type RestAnswer } from './rest.ts';

/**
 * Azure Resource Manager over its documented REST API with fetch, not @azure/arm-* and @azure/identity:
 * MSAL (under @azure/identity) refuses an authority that is not https and reads its metadata first, and
 * the ARM clients' bearer-token policy refuses http URLs, so they could not be pointed at a loopback
 * test peer without TLS and a CA trusted process-wide; and they are four packages for a dozen calls.
 */
export const API_VERSIONS = { compute: '2024-07-01', disks: '2024-03-02', network: '2024-05-01', costManagement: '2023-11-01', metrics: '2018-01-01' } as const;

// A token is renewed this long before it expires, so no call starts with one about to lapse.
const RENEW_BEFORE_MS = 5 * 60_000;
/** Azure-AsyncOperation polling: Retry-After is honoured within these bounds. */
const POLL_MIN_MS = 200;
const POLL_MAX_MS = 30_000;
const POLL_DEFAULT_MS = 5_000;

type ArmError = { error?: { code?: string; message?: string } };
const codeOf = (b: unknown) => ({ code: (b as ArmError)?.error?.code ?? '', message: (b as ArmError)?.error?.message ?? '' });
// What ARM answers (beside 401/403) when the token is not for it or the principal may not act.
const CREDENTIAL_CODES = new Set(['InvalidAuthenticationToken', 'InvalidAuthenticationTokenTenant', 'AuthorizationFailed', 'ExpiredAuthenticationToken']);

export function azureClient(settings: AzureSettings, secrets: AzureSecrets) {
  const arm = settings.resourceManagerUrl.replace(/\/$/, '');
  let current: Promise<{ token: string; until: number }> | undefined;

  /** OAuth 2.0 client credentials at the tenant's v2.0 token endpoint, scope `<ARM>/.default`. */
  async function exchange(): Promise<{ token: string; until: number }> {
    const url = `${settings.authorityHost.replace(/\/$/, '')}/${encodeURIComponent(settings.tenantId)}/oauth2/v2.0/token`;
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: settings.clientId, client_secret: secrets.clientSecret, scope: `${arm}/.default` }),
      signal: AbortSignal.timeout(30_000),
    });
    const body = (await res.json().catch(() => ({}))) as { access_token?: string; expires_in?: number; error?: string; error_description?: string };
    if (res.ok && body.access_token) return { token: body.access_token, until: Date.now() + (body.expires_in ?? 3600) * 1000 };
    // Entra ID answers 400/401 with invalid_client (wrong secret), unauthorized_client (unknown app), invalid_request (unknown tenant).
    const why = (body.error_description ?? '').split(/\r?\n/)[0] || `HTTP ${res.status}`;
    if (res.status === 400 || res.status === 401) throw new CloudAuthError(body.error ?? String(res.status), why);
    throw new Error(`the token endpoint answered ${res.status}: ${why}`);
  }
  const token = async () => {
    const got = current && (await current.catch(() => null));
    if (got && got.until - RENEW_BEFORE_MS > Date.now()) return got.token;
    current = exchange();
    return (await current).token;
  };

  const urlOf = (pathOrUrl: string, apiVersion: string) =>
    /^https?:/.test(pathOrUrl) ? pathOrUrl : `${arm}${pathOrUrl}${pathOrUrl.includes('?') ? '&' : '?'}api-version=${apiVersion}`;

  async function call<T = Record<string, unknown>>(pathOrUrl: string, apiVersion: string, opts: { method?: string; body?: unknown; accept?: number[]; signal?: AbortSignal } = {}): Promise<RestAnswer<T>> {
    try {
      return await restCall<T>(urlOf(pathOrUrl, apiVersion), { ...opts, token: await token(), codeOf });
    } catch (err) {
      if (err instanceof CloudHttpError && CREDENTIAL_CODES.has(err.code)) throw new CloudAuthError(err.code, err.message);
      throw err;
    }
  }

  /** Every item of a list, following nextLink (which carries its own api-version and skip token). */
  async function* list<T>(path: string, apiVersion: string): AsyncGenerator<T> {
    let url: string | undefined = urlOf(path, apiVersion);
    while (url) {
      const page: RestAnswer<{ value?: T[]; nextLink?: string }> = await call(url, apiVersion);
      yield* page.body.value ?? [];
      url = page.body.nextLink;
    }
  }

  /**
   * Waits for a long-running operation ARM accepted (201/202): the Azure-AsyncOperation status URL when
   * given (until Succeeded, Failed or Canceled), else the Location URL (until it stops answering 202).
   */
  async function completion(answer: RestAnswer<unknown>, signal?: AbortSignal): Promise<void> {
    const asyncUrl = answer.headers.get('azure-asyncoperation');
    const location = answer.headers.get('location');
    if (!asyncUrl && !(answer.status === 202 && location)) return;
    let retryAfter = answer.headers.get('retry-after');
    for (;;) {
      const wait = retryAfter ? Math.min(Math.max(Number(retryAfter) * 1000, POLL_MIN_MS), POLL_MAX_MS) : POLL_DEFAULT_MS;
      await new Promise((r) => setTimeout(r, wait));
      signal?.throwIfAborted();
      if (asyncUrl) {
        const polled = await call<{ status?: string; error?: { code?: string; message?: string } }>(asyncUrl, '', { ...(signal ? { signal } : {}) });
        const status = polled.body.status ?? 'InProgress';
        if (status === 'Succeeded') return;
        if (status === 'Failed' || status === 'Canceled') throw new CloudHttpError(200, polled.body.error?.code ?? status, `the operation ended ${status}: ${polled.body.error?.message ?? ''}`);
        retryAfter = polled.headers.get('retry-after');
      } else {
        const polled = await call(location!, '', { accept: [204], ...(signal ? { signal } : {}) });
        if (polled.status !== 202) return;
        retryAfter = polled.headers.get('retry-after');
      }
    }
  }

  return { subscriptions: settings.subscriptions, locations: settings.locations, call, list, completion };
}
export type AzureClient = ReturnType<typeof azureClient>;
