import { CloudAuthError, CloudHttpError } from './cloud-errors.ts';

export type RestAnswer<T> = { status: number; headers: Headers; body: T };

/** How long one REST call may take before the attempt fails (and Temporal retries the activity). */
const CALL_TIMEOUT_MS = 60_000;

/**
 * One JSON call to a cloud's REST API with a bearer token. 401 and 403 are credential refusals
 * (CloudAuthError); other answers outside 2xx are CloudHttpError, except the statuses `accept` lists,
 * which the caller reads itself (a 404 that means "already gone").
 */
export async function restCall<T = Record<string, unknown>>(
  url: string,
  opts: { token: string; method?: string; body?: unknown; accept?: number[]; signal?: AbortSignal; codeOf: (body: unknown) => { code: string; message: string } },
): Promise<RestAnswer<T>> {
  const signal = opts.signal ? AbortSignal.any([opts.signal, AbortSignal.timeout(CALL_TIMEOUT_MS)]) : AbortSignal.timeout(CALL_TIMEOUT_MS);
  const res = await fetch(url, {
    method: opts.method ?? 'GET',
    headers: { authorization: `Bearer ${opts.token}`, accept: 'application/json', ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
    signal,
  });
  const text = await res.text();
  const body = (text ? JSON.parse(text) : {}) as T;
  if (res.ok || opts.accept?.includes(res.status)) return { status: res.status, headers: res.headers, body };
  const { code, message } = opts.codeOf(body);
  const where = `${opts.method ?? 'GET'} ${new URL(url).pathname}`;
  if (res.status === 401 || res.status === 403) throw new CloudAuthError(code || String(res.status), `${where}: ${message}`);
  throw new CloudHttpError(res.status, code, `${where} answered ${res.status} ${code}: ${message}`);
}
