import type Koa from 'koa';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { RateLimitedError } from '../../core/errors.ts';
import { SyncedBudget } from '../../core/rate-budget.ts';
import type { AppDeps, AppState } from '../context.ts';

type LimiterDeps = Pick<AppDeps, 'redis' | 'keys' | 'config'>;

/**
 * A Redis-backed limiter shared by every API process (same keyPrefix everywhere). While Redis is down
 * each process counts in its own memory instead (insuranceLimiter): limits keep holding per process
 * rather than failing every request or letting everything through.
 */
function limiter(deps: LimiterDeps, name: string, points: number, duration: number): RateLimiterRedis {
  const keyPrefix = `${deps.keys.prefix}rl:${name}`;
  return new RateLimiterRedis({
    storeClient: deps.redis,
    keyPrefix,
    points,
    duration,
    rejectIfRedisNotReady: true,
    insuranceLimiter: new RateLimiterMemory({ keyPrefix, points, duration }),
  });
}

const retryAfter = (res: RateLimiterRes) => Math.max(1, Math.ceil(res.msBeforeNext / 1000));

/** Rejections carry a RateLimiterRes and become 429; anything else propagates. */
async function consume(rl: RateLimiterRedis, key: string): Promise<RateLimiterRes> {
  try {
    return await rl.consume(key);
  } catch (err) {
    if (err instanceof RateLimiterRes) throw new RateLimitedError(retryAfter(err));
    throw err;
  }
}

export type LoginThrottle = {
  /** Throws 429 with Retry-After when the address is out of budget or the account is backing off. */
  check: (ip: string, account: string) => Promise<void>;
  failed: (account: string) => Promise<void>;
  succeeded: (ip: string, account: string) => Promise<void>;
};

/**
 * Brute-force protection for everything that checks a password (login, and the current password of
 * POST /auth/password), counted two ways:
 * - per client address (RATE_LIMIT_LOGIN_PER_MINUTE): every attempt takes a point before the password
 *   is checked (parallel guesses cannot overshoot) and a success gives it back, so only failures add up;
 * - per account, wherever the guesses come from: after LOGIN_FREE_FAILURES failures each further one
 *   doubles the wait (1 s, 2 s, 4 s … up to LOGIN_MAX_BACKOFF_SECONDS), during which even the right
 *   password is answered 429. Unknown emails are counted alike, so the answers reveal nothing.
 */
export function loginThrottle(deps: LimiterDeps): LoginThrottle {
  const { config } = deps;
  const perIp = limiter(deps, 'login-ip', config.RATE_LIMIT_LOGIN_PER_MINUTE, 60);
  // Failures are remembered for a day after the first one, or until a success.
  const failures = limiter(deps, 'login-account-failures', Number.MAX_SAFE_INTEGER, 24 * 3600);
  const lockout = limiter(deps, 'login-account-lock', 1, 1);
  return {
    async check(ip, account) {
      const locked = await lockout.get(account);
      if (locked && locked.consumedPoints > 1) throw new RateLimitedError(retryAfter(locked));
      await consume(perIp, ip);
    },
    async failed(account) {
      const { consumedPoints } = await failures.penalty(account, 1);
      const over = consumedPoints - config.LOGIN_FREE_FAILURES;
      if (over > 0) await lockout.block(account, Math.min(2 ** Math.min(over - 1, 30), config.LOGIN_MAX_BACKOFF_SECONDS));
    },
    async succeeded(ip, account) {
      await Promise.all([perIp.reward(ip, 1), failures.delete(account), lockout.delete(account)]);
    },
  };
}

export type MissBudget = { check: (key: string) => Promise<void>; miss: (key: string) => Promise<void> };

/** `points` misses per key within `duration` seconds; once spent, check() answers 429 until the window ends. */
export function missBudget(deps: LimiterDeps, name: string, points: number, duration: number): MissBudget {
  const rl = limiter(deps, name, points, duration);
  return {
    async check(key) {
      const res = await rl.get(key);
      if (res && res.consumedPoints >= points) throw new RateLimitedError(retryAfter(res));
    },
    async miss(key) {
      await rl.penalty(key, 1);
    },
  };
}

/** One per app (keyed by its Redis client): every router's rateLimitPerUser() shares it, as they share the limit. */
const budgets = new WeakMap<object, SyncedBudget>();

/**
 * Per-user budget on authenticated API routes (RATE_LIMIT_API_PER_MINUTE), shared by every API
 * process within the tolerance core/rate-budget.ts states, with no Redis round trip per request.
 * Use after `authenticate(deps)`: it keys on ctx.state.principal.id.
 */
export function rateLimitPerUser(deps: LimiterDeps & Pick<AppDeps, 'logger'>): Koa.Middleware<AppState> {
  const limit = deps.config.RATE_LIMIT_API_PER_MINUTE;
  let shared = budgets.get(deps.redis);
  if (!shared) {
    shared = new SyncedBudget({ redis: deps.redis, keyPrefix: `${deps.keys.prefix}rl:user-budget:`, limit, logger: deps.logger });
    budgets.set(deps.redis, shared);
  }
  const budget = shared;
  const limitHeader = String(limit);
  return async (ctx, next) => {
    const taken = budget.take(ctx.state.principal.id);
    if (!taken.allowed) throw new RateLimitedError(taken.retryAfterSeconds);
    ctx.set('X-RateLimit-Limit', limitHeader);
    ctx.set('X-RateLimit-Remaining', String(taken.remaining));
    await next();
  };
}
