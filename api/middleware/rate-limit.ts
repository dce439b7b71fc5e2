import type Koa from 'koa';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { RateLimitedError } from '../../core/errors.ts';
import type { AppDeps, AppState } from '../context.ts';

type LimiterDeps = Pick<AppDeps, 'redis' | 'keys' | 'config'>;

function limiter(deps: LimiterDeps, name: string, pointsPerMinute: number): RateLimiterRedis {
  // Same keyPrefix across instances and routers, so every API process and router shares one budget.
  return new RateLimiterRedis({ storeClient: deps.redis, keyPrefix: `${deps.keys.prefix}rl:${name}`, points: pointsPerMinute, duration: 60 });
}

/** Rejections carry a RateLimiterRes; anything else (Redis down) is a real error and propagates. */
async function consume(rl: RateLimiterRedis, key: string): Promise<RateLimiterRes> {
  try {
    return await rl.consume(key);
  } catch (err) {
    if (err instanceof RateLimiterRes) throw new RateLimitedError(Math.max(1, Math.ceil(err.msBeforeNext / 1000)));
    throw err;
  }
}

/**
 * Brute-force protection for login, per client IP (RATE_LIMIT_LOGIN_PER_MINUTE). Every attempt takes a
 * point before the password is checked (so parallel guesses cannot overshoot the limit); a successful
 * login gives its point back, so only failures add up and legitimate logins from a shared address
 * (a NAT, a CI runner) are not locked out by each other.
 */
export function rateLimitLogin(deps: LimiterDeps): Koa.Middleware<AppState> {
  const rl = limiter(deps, 'login-ip', deps.config.RATE_LIMIT_LOGIN_PER_MINUTE);
  return async (ctx, next) => {
    await consume(rl, ctx.ip);
    await next();
    if (ctx.status < 400) await rl.reward(ctx.ip, 1);
  };
}

/**
 * Per-user budget on authenticated API routes (RATE_LIMIT_API_PER_MINUTE). Use after
 * `authenticate(deps.tokens)`: it keys on ctx.state.principal.id.
 */
export function rateLimitPerUser(deps: LimiterDeps): Koa.Middleware<AppState> {
  const rl = limiter(deps, 'user', deps.config.RATE_LIMIT_API_PER_MINUTE);
  return async (ctx, next) => {
    const res = await consume(rl, ctx.state.principal.id);
    ctx.set('X-RateLimit-Limit', String(deps.config.RATE_LIMIT_API_PER_MINUTE));
    ctx.set('X-RateLimit-Remaining', String(res.remainingPoints));
    await next();
  };
}
