import { z } from 'zod';
import { TASK_QUEUES } from '../temporal.ts';
import { defineKind } from './kind.ts';

const name = z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'lower-case letters, digits, ".", "-" and "_", at most 63 characters');
const host = z.string().regex(/^[A-Za-z0-9.-]{1,253}$|^\[[0-9A-Fa-f:.]+\]$/, 'a host name or an IP address');
const port = z.number().int().min(1).max(65_535);
const common = {
  timeoutMs: z.number().int().min(100).max(60_000).default(5_000),
};

/** One check. What it may reach is where the scans worker stands on the network (docs/trust-model.md). */
export const healthCheckSchema = z.discriminatedUnion('type', [
  z.strictObject({
    ...common,
    type: z.literal('http'),
    url: z.url({ protocol: /^https?$/ }).max(2048).describe('http:// or https://; for https the certificate chain is verified'),
    expectStatus: z.number().int().min(100).max(599).default(200),
    bodyMatch: z.string().max(500).optional().describe('a text the body must contain'),
    maxLatencyMs: z.number().int().min(1).max(60_000).optional().describe('slower than this counts as down'),
    certMinDays: z.number().int().min(0).max(365).default(14).describe('https: down when the certificate expires within this many days'),
    ca: z.string().max(20_000).regex(/^-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----\s*$/, 'a PEM certificate').optional().describe('https: a CA (PEM) to trust besides the system ones, for internal services'),
  }),
  z.strictObject({ ...common, type: z.literal('tcp'), host, port }),
  z.strictObject({ ...common, type: z.literal('dns'), hostname: host, expect: z.string().max(100).optional().describe('an address the answer must include') }),
  z.strictObject({ ...common, type: z.literal('postgres'), host, port: port.default(5432), database: z.string().max(63).default('postgres'), user: z.string().max(63).default('postgres') }),
  z.strictObject({ ...common, type: z.literal('redis'), host, port: port.default(6379) }),
  z.strictObject({
    ...common,
    type: z.literal('docker'),
    integration: z.uuid().describe("the team's docker integration (the host's Docker API)"),
    container: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, 'a container name').describe('up while running, and healthy when its image has a HEALTHCHECK'),
  }),
  z.strictObject({
    ...common,
    type: z.literal('kubernetes'),
    integration: z.uuid().describe("the team's kubernetes integration"),
    namespace: z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'a namespace name').optional().describe("the integration's namespace by default"),
    deployment: z.string().regex(/^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/, 'a Deployment name'),
    minAvailable: z.number().int().min(0).max(10_000).optional().describe('up while at least this many replicas are available; all the Deployment wants by default'),
  }),
]);
export type HealthCheck = z.infer<typeof healthCheckSchema>;

/** A monitor's checks per scan: the activity probes enough of them at once that any size ends within ten probe timeouts. */
export const MAX_CHECKS = 500;

export const healthScanParamsSchema = z.object({
  monitor: name.describe('what these checks watch together (the run target): their status is kept per monitor and check'),
  checks: z
    .record(name, healthCheckSchema)
    .refine((cs) => Object.keys(cs).length >= 1 && Object.keys(cs).length <= MAX_CHECKS, `1 to ${MAX_CHECKS} checks`)
    // The refinement above, as the published JSON Schema says it.
    .meta({ minProperties: 1, maxProperties: MAX_CHECKS })
    .describe('the checks by name (lower-case letters, digits, ".", "-", "_")'),
  failuresBeforeDown: z.number().int().min(1).max(10).default(2).describe('consecutive failures before a check counts as down (damps flapping)'),
  alertSource: z.uuid().optional().describe("id of the team's alert-source integration: a check that is down fires an alert through it (repeats counted while it stays down), and its recovery resolves it"),
});
export type HealthScanParams = z.infer<typeof healthScanParamsSchema>;

/** One check's outcome in a scan, and the status it leaves the check in. */
export type CheckResult = {
  name: string;
  type: HealthCheck['type'];
  ok: boolean;
  latencyMs: number;
  detail: string;
  /** The check's status after this scan (damped: `up` until failuresBeforeDown failures in a row). */
  status: 'up' | 'down';
  /** Set when this scan changed the status (a transition is recorded and, with alerts, raised). */
  changed?: { from: 'up' | 'down' | 'unknown'; to: 'up' | 'down' };
  /** https: days until the certificate expires. */
  certDaysLeft?: number;
};
export type HealthScanSummary = { up: number; down: number; changed: number; checks: CheckResult[]; alerts?: { dedupKey: string; outcome: string }[] };

export const healthScanKind = defineKind({
  kind: 'health-scan',
  title: 'Health scan',
  description: 'Checks HTTP(S) endpoints (status, latency, body, certificate expiry), TCP ports, DNS names, PostgreSQL, Redis, Docker containers and Kubernetes Deployments, and records when a check goes down or comes back, raising and resolving an alert when given an alert source.',
  paramsSchema: healthScanParamsSchema,
  workflowType: 'healthScanRun',
  taskQueue: TASK_QUEUES.scans,
  target: (params) => params.monitor,
  integrations: (params) => [
    ...(params.alertSource ? [params.alertSource] : []),
    ...Object.values(params.checks).flatMap((c) => (c.type === 'docker' || c.type === 'kubernetes' ? [c.integration] : [])),
  ],
  approval: 'never',
  summary: 'findings',
});
