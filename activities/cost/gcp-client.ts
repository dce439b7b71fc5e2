import { parseServiceAccountKey } from '../../contracts/integrations/gcp.ts';
import type { GcpSecrets, GcpSettings } from '../../contracts/integrations/gcp.ts';
import { GoogleTokenRefused, serviceAccountToken } from '../google-token.ts';
import { CloudAuthError, CloudHttpError } from './cloud-errors.ts';
import { restCall, type RestAnswer } from './rest.ts';

/**
 * Compute Engine, Cloud Monitoring and BigQuery over their documented REST APIs with fetch.
 * @google-cloud/compute (gax's REST fallback) does take an apiEndpoint, but service-account keys go
 * through gtoken, which signs for and posts to a token URL of its own rather than the key file's
 * token_uri, and three client libraries for a dozen calls weigh more than the calls. The token is the
 * shared JWT bearer exchange (activities/google-token.ts) at the key file's token_uri.
 */
const SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
const RENEW_BEFORE_MS = 5 * 60_000;

type GoogleError = { error?: { code?: number; status?: string; message?: string; errors?: Array<{ reason?: string }> } };
const codeOf = (b: unknown) => {
  const e = (b as GoogleError)?.error;
  return { code: e?.status ?? e?.errors?.[0]?.reason ?? '', message: e?.message ?? '' };
};

/** A Compute Engine operation, as insert/stop/delete/createSnapshot answer. */
export type Operation = { name: string; status?: string; zone?: string; region?: string; error?: { errors?: Array<{ code?: string; message?: string }> } };

export function gcpClient(settings: GcpSettings, secrets: GcpSecrets) {
  const parsed = parseServiceAccountKey(secrets.serviceAccountKey);
  // The schema checked the key file already; this only narrows its type.
  if ('error' in parsed) throw new CloudAuthError('invalid_key', parsed.error);
  const { key } = parsed;
  let current: Promise<{ token: string; until: number }> | undefined;

  async function exchange(): Promise<{ token: string; until: number }> {
    try {
      return await serviceAccountToken({ clientEmail: key.client_email, privateKey: key.private_key, tokenUri: key.token_uri }, SCOPE);
    } catch (err) {
      // invalid_grant: a deleted or disabled key, or an unknown account.
      throw err instanceof GoogleTokenRefused ? new CloudAuthError(err.code, err.message) : err;
    }
  }
  const token = async () => {
    const got = current && (await current.catch(() => null));
    if (got && got.until - RENEW_BEFORE_MS > Date.now()) return got.token;
    current = exchange();
    return (await current).token;
  };

  const call = async <T = Record<string, unknown>>(url: string, opts: { method?: string; body?: unknown; accept?: number[]; signal?: AbortSignal } = {}): Promise<RestAnswer<T>> =>
    restCall<T>(url, { ...opts, token: await token(), codeOf });

  const compute = `${settings.computeUrl.replace(/\/$/, '')}/compute/v1`;

  /** Waits for a zonal, regional or global operation with its `wait` method (which returns at DONE or after about two minutes). */
  async function done(project: string, op: Operation, signal?: AbortSignal): Promise<void> {
    const scope = op.zone ? `zones/${op.zone.split('/').pop()}` : op.region ? `regions/${op.region.split('/').pop()}` : 'global';
    let current = op;
    while (current.status !== 'DONE') {
      signal?.throwIfAborted();
      current = (await call<Operation>(`${compute}/projects/${project}/${scope}/operations/${op.name}/wait`, { method: 'POST', ...(signal ? { signal } : {}) })).body;
    }
    const failed = current.error?.errors?.[0];
    if (failed) throw new CloudHttpError(200, failed.code ?? 'OPERATION_FAILED', `operation ${op.name} failed: ${failed.message ?? ''}`);
  }

  return {
    projects: settings.projects,
    regions: settings.regions,
    billingTable: settings.billingTable,
    compute,
    monitoring: `${settings.monitoringUrl.replace(/\/$/, '')}/v3`,
    bigquery: `${settings.bigqueryUrl.replace(/\/$/, '')}/bigquery/v2`,
    call,
    done,
  };
}
export type GcpClient = ReturnType<typeof gcpClient>;
