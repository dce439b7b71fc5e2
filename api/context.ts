import type { Client } from '@temporalio/client';
import type { Redis } from 'ioredis';
import type Koa from 'koa';
import type Router from '@koa/router';
import type { AppCache } from '../core/cache/cache.ts';
import type { RunListChanges } from '../core/cache/run-list-changes.ts';
import type { Config } from '../core/config.ts';
import type { Logger } from '../core/logger.ts';
import type { RedisKeys } from '../core/redis.ts';
import type { RunEventStore } from '../core/run-events.ts';
import type { Principal } from '../core/access.ts';
import type { Metrics } from '../core/metrics.ts';
import type { SessionService } from '../core/refresh-tokens.ts';
import type { ApiTokenService } from '../core/api-tokens.ts';
import type { EscalationOutbox } from '../core/alerts/escalation-start.ts';
import type { TokenService } from '../core/tokens.ts';
import type { Keyring } from '../core/secrets/keyring.ts';
import type { Db } from '../db/orm.ts';
import type { EntityManager } from '@mikro-orm/postgresql';

/** Everything the API needs, built by server.ts (or a test) and passed in: nothing reads the environment. */
export type AppDeps = {
  config: Config;
  logger: Logger;
  db: Db;
  redis: Redis;
  keys: RedisKeys;
  temporal: Client;
  events: RunEventStore;
  metrics: Metrics;
  tokens: TokenService;
  /** Seals and opens integration secrets (INTEGRATIONS_KEY and the previous keys still accepted). */
  keyring: Keyring;
  /** Login sessions (refresh families): start, rotate, revoke, and whether one still holds. */
  sessions: SessionService;
  /** API tokens for automation: who a token acts as (cached like sessions' principals), last use. */
  apiTokens: ApiTokenService;
  /** The two-level cache (memory, then Redis) with tag invalidation reaching every API process. */
  cache: AppCache;
  /** Whether cached run lists can be trusted, and which teams' runs changed (PostgreSQL LISTEN). */
  runListChanges: RunListChanges;
  /** Starts opened alerts' escalations after the source has its answer, and finds starts a crash lost. */
  escalations: EscalationOutbox;
};

export type AppState = {
  requestId: string;
  /** Set by the auth middleware on every authenticated route; `family` is the caller's session. */
  principal: Principal & { family: string };
  /** A fresh entity manager per request. */
  em: EntityManager;
};

export type AppContext = Koa.ParameterizedContext<AppState>;
export type AppRouter = Router<AppState>;
