import { end, refresh, session } from './session.ts';

export type FieldError = { field: string; message: string };
/** An RFC 9457 problem the API answered with; `errors` carries per-field messages on 400. */
export class ApiError extends Error {
  readonly status: number;
  readonly errors: FieldError[];
  constructor(status: number, message: string, errors: FieldError[] = []) {
    super(message);
    this.status = status;
    this.errors = errors;
  }
}

const mfaRefusals = new Set<(message: string) => void>();
/**
 * Listens for the API refusing an action because a team requires a second factor the user has not
 * enrolled (403 naming the field `mfa`), wherever it happens, so one notice can lead them to enrol.
 */
export function onMfaRefusal(listener: (message: string) => void): () => void {
  mfaRefusals.add(listener);
  return () => mfaRefusals.delete(listener);
}

async function send(method: string, path: string, body: unknown): Promise<Response> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  const token = session.accessToken;
  if (token) headers.authorization = `Bearer ${token}`;
  return fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

/**
 * A JSON call to the API. A 401 gets one silent refresh and a retry; if that fails too the session
 * ends (revoked, expired) and the app shows the login page with the reason.
 */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  let res = await send(method, path, body);
  if (res.status === 401 && session.accessToken) {
    if (await refresh()) res = await send(method, path, body);
    if (res.status === 401) end('Your session has ended. Please sign in again.');
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  const json: unknown = text ? JSON.parse(text) : undefined;
  if (!res.ok) {
    const p = (json ?? {}) as { detail?: string; title?: string; errors?: FieldError[] };
    const error = new ApiError(res.status, p.detail ?? p.title ?? `HTTP ${res.status}`, Array.isArray(p.errors) ? p.errors : []);
    if (res.status === 403 && error.errors.some((e) => e.field === 'mfa')) mfaRefusals.forEach((l) => l(error.message));
    throw error;
  }
  return json as T;
}

export const get = <T>(path: string) => api<T>('GET', path);
export const post = <T>(path: string, body: unknown = {}) => api<T>('POST', path, body);
export const put = <T>(path: string, body: unknown = {}) => api<T>('PUT', path, body);
export const del = <T>(path: string) => api<T>('DELETE', path);

export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}
