import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { DomainError } from '../../core/errors.ts';
import { principalFromToken, type AuthenticatedPrincipal } from '../middleware/auth.ts';
import type { AppDeps } from '../context.ts';

/** The subprotocol a browser offers next to `bearer.<token>`, and the one the server selects. */
export const WS_PROTOCOL = 'opssight.v1';
const BEARER_PREFIX = 'bearer.';

export type UpgradeOutcome =
  /** `reload` reads the token's principal again (its user's access changed), as a request with it would. */
  | { ok: true; principal: AuthenticatedPrincipal; reload: () => Promise<AuthenticatedPrincipal> }
  | { ok: false; status: number; message: string };

/**
 * Browsers cannot set headers on a WebSocket, so the token comes as a `bearer.<token>` subprotocol
 * (kept out of URLs and access logs); the selected protocol is WS_PROTOCOL, never the token. The
 * `?access_token=` form, which proxies log with the URL, is read only when WS_QUERY_TOKEN allows it.
 */
export function tokenFromUpgrade(req: http.IncomingMessage, url: URL, allowQuery: boolean): string | null {
  const fromQuery = allowQuery ? url.searchParams.get('access_token') : null;
  if (fromQuery) return fromQuery;
  const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  const bearer = offered.find((p) => p.startsWith(BEARER_PREFIX));
  return bearer ? bearer.slice(BEARER_PREFIX.length) : null;
}

/**
 * A browser always sends Origin; it must be this API's own origin or on the CORS allow-list, which
 * stops another site from riding a user's token in a cross-site socket. No Origin means a
 * non-browser client, whose token alone decides.
 */
export function originAllowed(req: http.IncomingMessage, allowList: readonly string[]): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  if (allowList.includes(origin)) return true;
  const host = req.headers.host;
  return host !== undefined && (origin === `http://${host}` || origin === `https://${host}`);
}

export async function authorizeUpgrade(req: http.IncomingMessage, url: URL, deps: AppDeps): Promise<UpgradeOutcome> {
  if (!originAllowed(req, deps.config.CORS_ORIGINS)) return { ok: false, status: 403, message: 'origin not allowed' };
  const token = tokenFromUpgrade(req, url, deps.config.WS_QUERY_TOKEN);
  if (!token) return { ok: false, status: 401, message: 'access token required (as the subprotocol bearer.<token>)' };
  try {
    const reload = () => principalFromToken(deps, () => deps.db.em.fork(), token);
    return { ok: true, principal: await reload(), reload };
  } catch (err) {
    if (err instanceof DomainError && err.status === 401) return { ok: false, status: 401, message: err.message };
    throw err;
  }
}

const REASONS: Record<number, string> = { 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 503: 'Service Unavailable' };

/** Answers the upgrade request with a plain HTTP problem+json; the socket never becomes a WebSocket. */
export function rejectUpgrade(socket: Duplex, status: number, message: string, retryAfterSeconds?: number): void {
  const reason = REASONS[status] ?? 'Internal Server Error';
  const body = JSON.stringify({ type: 'about:blank', title: reason, status, detail: message, instance: '/ws' });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/problem+json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      (status === 401 ? 'WWW-Authenticate: Bearer\r\n' : '') +
      (retryAfterSeconds ? `Retry-After: ${retryAfterSeconds}\r\n` : '') +
      `\r\n${body}`,
  );
}
