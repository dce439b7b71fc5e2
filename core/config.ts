import { createHash } from 'node:crypto';
import proxyaddr from 'proxy-addr';
import { z } from 'zod';

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const list = z.string().transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean));
const decode = (v: string) => {
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
};
/** `key=value,key2=value2`, the OTEL_* list format (values percent-encoded, and may contain '='). */
const keyValues = list.pipe(
  z.array(z.string().regex(/^[^=]+=/, 'must be key=value pairs, comma-separated')).transform((pairs) =>
    Object.fromEntries(pairs.map((p) => [p.slice(0, p.indexOf('=')).trim(), decode(p.slice(p.indexOf('=') + 1).trim())])),
  ),
);

/**
 * A 32-byte AES-256 key given as 64 hex digits or as base64 / base64url (`openssl rand -base64 32`).
 * There is no default and no fallback: a missing or short key is a startup error naming the variable.
 */
const KEY_HELP = '32 random bytes as base64 or hex, e.g. `openssl rand -base64 32` (scripts/up.sh keeps one in its data dir)';
export function decodeKey(value: string): Buffer | null {
  const v = value.trim();
  const bytes = /^[0-9a-fA-F]{64}$/.test(v) ? Buffer.from(v, 'hex') : /^[A-Za-z0-9+/_-]+={0,2}$/.test(v) ? Buffer.from(v, 'base64') : null;
  return bytes?.length === 32 ? bytes : null;
}
const encryptionKey = z.string({ error: `required: ${KEY_HELP}` }).transform((v, ctx) => {
  const key = decodeKey(v);
  if (!key) ctx.addIssue({ code: 'custom', message: `must be ${KEY_HELP}` });
  return key ?? Buffer.alloc(0);
});
const integrationKeys = {
  /** Encrypts integration secrets (AES-256-GCM); its id is derived from it and stored with each secret. */
  INTEGRATIONS_KEY: encryptionKey,
  /** Keys still accepted for reading during a rotation (comma-separated), never used to encrypt. */
  INTEGRATIONS_PREVIOUS_KEYS: list.pipe(z.array(encryptionKey)).default([]),
};
/** Addresses or CIDRs (or proxy-addr's names: loopback, linklocal, uniquelocal) whose X-Forwarded-For is believed. */
const trustedProxies = list.superRefine((entries, ctx) => {
  try {
    proxyaddr.compile(entries);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL'),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must be a redis:// URL'),
  REDIS_PREFIX: z.string().default('opssight:'),
  TEMPORAL_ADDRESS: z.string().min(1),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  JWT_SECRET: z.string().min(32, 'must be at least 32 characters'),
  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().positive().default(900),
  REFRESH_TOKEN_TTL_SECONDS: z.coerce.number().int().positive().default(30 * 24 * 3600),
  API_HOST: z.string().default('127.0.0.1'),
  API_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  PUBLIC_URL: z.string().url().optional(),
  CORS_ORIGINS: list.default([]),
  BODY_LIMIT: z.string().default('1mb'),
  /** Failed logins (and wrong current passwords) per client address per minute. */
  RATE_LIMIT_LOGIN_PER_MINUTE: z.coerce.number().int().positive().default(60),
  /** Failures an account may have before each further one doubles its wait (1 s, 2 s, 4 s ...). */
  LOGIN_FREE_FAILURES: z.coerce.number().int().min(0).default(5),
  LOGIN_MAX_BACKOFF_SECONDS: z.coerce.number().int().positive().default(900),
  TRUSTED_PROXIES: trustedProxies.default([]),
  RATE_LIMIT_API_PER_MINUTE: z.coerce.number().int().positive().default(600),
  APPROVAL_TIMEOUT_SECONDS: z.coerce.number().int().positive().default(24 * 3600),
  /** How often an API process looks for alert escalations whose start a crash lost (core/alerts/escalation-start.ts); 0 = never. */
  ALERT_ESCALATION_SWEEP_SECONDS: z.coerce.number().min(0).default(2),
  TERRAFORM_BIN: z.string().default('terraform'),
  ANSIBLE_PLAYBOOK_BIN: z.string().default('ansible-playbook'),
  /** Debian's libnss_wrapper.so: gives a sandbox uid the passwd entry ansible's ssh needs (unset: no sandbox ssh). */
  NSS_WRAPPER_LIB: z.string().optional(),
  /**
   * Where Terraform state lives: an administrative connection the worker uses to create one role and
   * schemas per team (terraform itself only ever gets its team's role). Default: the database
   * `<DATABASE_URL's database>_tfstate` on the same server, created when missing.
   */
  TERRAFORM_STATE_DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//).optional(),
  /** Derives the team roles' passwords (HMAC); default: derived from TERRAFORM_STATE_DATABASE_URL. */
  STATE_ROLE_KEY: z.string().min(16).optional(),
  WORK_DIR: z.string().default('/tmp/opssight-work'),
  /** The task queues a worker polls (comma-separated: infra, delivery, notifications, scans); default all that kinds use. */
  WORKER_QUEUES: list.optional(),
  /** A prebuilt workflow bundle (`npm run build:workflows`); unset = bundled at start, which costs seconds. */
  WORKFLOW_BUNDLE: z.string().optional(),
  /** Which host this worker is on, for following processes that outlive a worker; workers sharing one share WORK_DIR. */
  WORKER_HOST_ID: z.string().regex(/^[A-Za-z0-9._-]+$/).optional(),
  /** Run user code as root when the worker is root and cannot drop privileges (never in production). */
  ALLOW_ROOT_RUNS: bool.default(false),
  CANCEL_GRACE_MS: z.coerce.number().int().min(0).default(10_000),
  HEARTBEAT_TIMEOUT_SECONDS: z.coerce.number().int().positive().default(30),
  METRICS_ENABLED: bool.default(true),
  /** Where a worker serves its own /metrics (activity durations, run outcomes); unset = not served. */
  WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /**
   * Workflow executions a worker keeps in memory per task queue; one evicted is replayed from its
   * history at its next event. Unset = the SDK's default, sized from the V8 heap limit.
   */
  WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).optional(),
  WS_PING_INTERVAL_MS: z.coerce.number().int().min(50).default(30_000),
  WS_MAX_BUFFERED_BYTES: z.coerce.number().int().min(1024).default(4 * 1024 * 1024),
  /** Also accept the /ws token as `?access_token=` (it then shows up in proxy logs); the subprotocol is the way. */
  WS_QUERY_TOKEN: bool.default(false),
  /** Longest the API waits on PostgreSQL (connect, query) or Redis (a command) before answering 503. */
  DEPENDENCY_TIMEOUT_MS: z.coerce.number().int().positive().default(5_000),
  /** Longest a request waits on Temporal (start, cancel, an approval's update) before answering 503. */
  TEMPORAL_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  /** An OTLP/HTTP collector's base URL (`/v1/traces` is appended); unset or empty = tracing off, nothing started. */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.preprocess((v) => (v === '' ? undefined : v), z.string().url().optional()),
  /** Headers sent with every export, e.g. a vendor's API key. */
  OTEL_EXPORTER_OTLP_HEADERS: keyValues.default({}),
  /** Added to every span's resource (deployment.environment.name=prod); service.name is set per process. */
  OTEL_RESOURCE_ATTRIBUTES: keyValues.default({}),
  ...integrationKeys,
});

export type Config = Omit<z.infer<typeof envSchema>, 'TERRAFORM_STATE_DATABASE_URL' | 'STATE_ROLE_KEY'> & {
  TERRAFORM_STATE_DATABASE_URL: string;
  STATE_ROLE_KEY: string;
};

/** The default state database: a sibling of the OpsSight database, never the OpsSight database itself. */
function stateDatabaseUrl(databaseUrl: string): string {
  const u = new URL(databaseUrl);
  u.pathname = `/${decodeURIComponent(u.pathname.slice(1) || 'opssight')}_tfstate`;
  return u.toString();
}

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

function parse<T extends z.ZodType>(schema: T, env: NodeJS.ProcessEnv): z.infer<T> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  return parsed.data;
}

/** The only place the environment is read. Every problem is reported at once. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const c = parse(envSchema, env);
  const stateUrl = c.TERRAFORM_STATE_DATABASE_URL ?? stateDatabaseUrl(c.DATABASE_URL);
  const roleKey = c.STATE_ROLE_KEY ?? createHash('sha256').update(`opssight-state-roles:${stateUrl}`).digest('base64url');
  return { ...c, TERRAFORM_STATE_DATABASE_URL: stateUrl, STATE_ROLE_KEY: roleKey };
}

const keyRotationSchema = envSchema.pick({ DATABASE_URL: true, INTEGRATIONS_KEY: true, INTEGRATIONS_PREVIOUS_KEYS: true });
export type KeyRotationConfig = z.infer<typeof keyRotationSchema>;

/** What `npm run integrations:rotate-key` needs, and nothing else (no Redis, Temporal or JWT settings). */
export function loadKeyRotationConfig(env: NodeJS.ProcessEnv = process.env): KeyRotationConfig {
  return parse(keyRotationSchema, env);
}
