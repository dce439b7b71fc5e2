import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

/** How long a browser may spend at the identity provider between leaving and coming back. */
export const FLOW_TTL_SECONDS = 600;
/** How long the dashboard has to trade the one-time code it was redirected with for its tokens. */
export const HANDOFF_TTL_SECONDS = 60;

/**
 * What a login started with and must end with: kept server-side, never trusted from the browser.
 * `browser` is the SHA-256 of the value in the cookie of the browser that started it (see handoff).
 */
export type FlowState = { providerId: string; browser: string; codeVerifier?: string; nonce?: string; requestId?: string; redirectUri: string };
/** A flow as a provider starts it, before it is bound to a browser. */
export type StartedFlow = Omit<FlowState, 'browser'>;

/** A finished login waiting for the dashboard: the tokens, who may take them, and the session to end if someone else tries. */
export type Handoff = { body: Record<string, unknown>; browser: string; family: string };

/**
 * A random value for the browser's cookie and the hash the server keeps: a leaked Redis entry does
 * not give away a value a browser could present.
 */
export function newBrowserBinding(): { value: string; hash: string } {
  const value = randomBytes(32).toString('base64url');
  return { value, hash: browserHash(value) };
}
export const browserHash = (value: string) => createHash('sha256').update(value).digest('base64url');

/**
 * One-shot values in Redis: the state of a login in flight (keyed by the `state` parameter, or the
 * SAML RelayState) and the code that hands a finished login's tokens to the dashboard. Each is
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
    /** Stores a finished login under a fresh random code the dashboard redeems once. */
    async handoff(handoff: Handoff): Promise<string> {
      const code = randomBytes(32).toString('base64url');
      await redis.set(key('handoff', code), JSON.stringify(handoff), 'EX', HANDOFF_TTL_SECONDS);
      return code;
    },
    redeem: (code: string) => take<Handoff>('handoff', code),
    /** Remembers a SAML assertion id until it expires; false when it was already seen (a replay). */
    async firstUse(assertionId: string, ttlSeconds: number): Promise<boolean> {
      const ok = await redis.set(key('assertion', assertionId), '1', 'EX', Math.max(1, Math.ceil(ttlSeconds)), 'NX');
      return ok === 'OK';
    },
  };
}
export type FlowStore = ReturnType<typeof createFlowStore>;
