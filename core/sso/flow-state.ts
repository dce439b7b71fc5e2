import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

/** How long a browser may spend at the identity provider between leaving and coming back. */
export const FLOW_TTL_SECONDS = 600;
/** How long the dashboard has to trade the one-time code it was redirected with for its tokens. */
export const HANDOFF_TTL_SECONDS = 60;

/** What a login started with and must end with: kept server-side, never trusted from the browser. */
export type FlowState = { providerId: string; codeVerifier?: string; nonce?: string; requestId?: string; redirectUri: string };

/**
 * One-shot values in Redis: the state of a login in flight (keyed by the `state` parameter, or the
 * SAML request id) and the code that hands a finished login's tokens to the dashboard. Each is
 * read with GETDEL, so a replayed state or code finds nothing.
 */
export function createFlowStore(redis: Redis, prefix: string) {
  const key = (kind: string, id: string) => `${prefix}sso:${kind}:${id}`;
  async function take<T>(kind: string, id: string): Promise<T | null> {
    const raw = await redis.getdel(key(kind, id));
    return raw ? (JSON.parse(raw) as T) : null;
  }
  return {
    async begin(id: string, state: FlowState): Promise<void> {
      await redis.set(key('flow', id), JSON.stringify(state), 'EX', FLOW_TTL_SECONDS);
    },
    finish: (id: string) => take<FlowState>('flow', id),
    /** Stores the token response under a fresh random code the dashboard redeems once. */
    async handoff(body: unknown): Promise<string> {
      const code = randomBytes(32).toString('base64url');
      await redis.set(key('handoff', code), JSON.stringify(body), 'EX', HANDOFF_TTL_SECONDS);
      return code;
    },
    redeem: (code: string) => take<Record<string, unknown>>('handoff', code),
    /** Remembers a SAML assertion id until it expires; false when it was already seen (a replay). */
    async firstUse(assertionId: string, ttlSeconds: number): Promise<boolean> {
      const ok = await redis.set(key('assertion', assertionId), '1', 'EX', Math.max(1, Math.ceil(ttlSeconds)), 'NX');
      return ok === 'OK';
    },
  };
}
export type FlowStore = ReturnType<typeof createFlowStore>;
