import { z } from 'zod';
import { FAILURE_TYPES, TASK_QUEUES, type RunInput } from '../temporal.ts';
import { defineKind } from './kind.ts';

const image = z
  .string()
  .max(512)
  .regex(/^[a-z0-9][a-z0-9._\-/:@]*$/, 'an image reference, e.g. registry.example.com/app:1.4.2')
  .describe('image reference');
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name');
const envValue = z
  .string()
  .max(32 * 1024)
  .refine((v) => !v.includes('\0'), 'must not contain NUL characters')
  // The refinement above, as the published JSON Schema says it.
  .meta({ pattern: '^[^\\u0000]*$' });
const env = z.record(envName, envValue).describe('environment variables to set (name → value)');
const k8sName = z.string().regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, 'a Kubernetes object name');
const containerName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, 'a container name');
// Printable ASCII only (an international host name goes in its xn-- form).
const httpUrl = z.string().max(2048).regex(/^https?:\/\/[!-~]+$/, 'an http:// or https:// URL');

/**
 * A Prometheus query asked every round of the verification gate: every series it returns must stay
 * under `threshold` (e.g. the new version's error ratio). No data is a failure too — a query that
 * should read 0 without traffic says so (`... or vector(0)`).
 */
export const prometheusCheckSchema = z.strictObject({
  url: httpUrl.describe('the Prometheus server (its HTTP API /api/v1/query), e.g. http://prometheus.monitoring:9090'),
  query: z
    .string()
    .min(1)
    .max(4000)
    .refine((v) => !v.includes('\0'), 'must not contain NUL characters')
    .meta({ pattern: '^[^\\u0000]+$' })
    .describe('PromQL instant query; `{deployment}` is replaced by the Deployment verified (blue-green: the new one)'),
  threshold: z.number().describe('every value the query returns must stay below this'),
});

/** HTTP checks (and/or a Prometheus query) that must keep passing for `durationSeconds` after the rollout before a deploy counts as good. */
export const verificationSchema = z
  .strictObject({
    checks: z
      .array(z.strictObject({ url: httpUrl.describe('blue-green: `{deployment}` is replaced by the new Deployment\'s name (checked before the switch)'), expectStatus: z.number().int().min(100).max(599).default(200) }))
      .max(10)
      .default([]),
    prometheus: prometheusCheckSchema.optional(),
    durationSeconds: z.number().int().min(0).max(3600).default(30).describe('how long every check must keep passing'),
    intervalSeconds: z.number().min(0.1).max(300).default(5).describe('time between two rounds of checks'),
  })
  .superRefine((v, ctx) => {
    if (v.checks.length === 0 && !v.prometheus) ctx.addIssue({ code: 'custom', path: ['checks'], message: 'give at least one HTTP check or a Prometheus query' });
  })
  // The refinement above, as the published JSON Schema says it.
  .meta({ anyOf: [{ required: ['checks'], properties: { checks: { minItems: 1 } } }, { required: ['prometheus'] }] });

export const dockerTargetSchema = z.strictObject({
  platform: z.literal('docker'),
  integration: z.uuid().describe('the team\'s docker integration (the Docker host)'),
  container: containerName.describe('the running container to replace; its settings are copied to the new one'),
  image,
  env: env.default({}),
  pull: z.enum(['always', 'missing', 'never']).default('missing').describe('pull the image from its registry first'),
  /**
   * The new container runs beside the old one, so it must listen elsewhere: its port comes from this
   * environment variable (host networking) or the first published port (bridge networking), and
   * alternates between the two values, like blue and green slots behind the host's load balancer.
   */
  ports: z
    .strictObject({
      env: envName.optional().describe('host networking: the variable the app reads its port from'),
      slots: z
        .tuple([z.number().int().min(1).max(65535), z.number().int().min(1).max(65535)])
        .refine((slots) => slots[0] !== slots[1], 'the two slots must differ')
        // The refinement above, as the published JSON Schema says it.
        .meta({ uniqueItems: true })
        .describe('the two host ports the versions alternate on'),
    }),
  health: z.strictObject({
    url: httpUrl.describe('checked on the new container; `{port}` is replaced by its port'),
    expectStatus: z.number().int().min(100).max(599).default(200),
    timeoutSeconds: z.number().int().min(1).max(1800).default(60).describe('how long the new container has to become healthy'),
  }),
  stopTimeoutSeconds: z.number().int().min(0).max(600).default(10).describe('grace period when stopping the old container'),
});

export const kubernetesTargetSchema = z.strictObject({
  platform: z.literal('kubernetes'),
  integration: z.uuid().describe('the team\'s kubernetes integration (the cluster)'),
  namespace: k8sName.optional().describe('default: the integration\'s namespace'),
  deployment: k8sName.describe('the Deployment to roll out'),
  images: z.record(containerName, image).default({}).describe('container name → new image'),
  env: z.record(containerName, env).default({}).describe('container name → environment variables to set'),
  strategy: z.enum(['rolling', 'blue-green']).default('rolling').describe('blue-green: a second Deployment, verified, then the Service switched to it'),
  service: k8sName.optional().describe('blue-green: the Service whose selector is switched'),
  keepOldReplicas: z.number().int().min(0).max(1000).optional().describe('blue-green: the old Deployment is scaled to this after the switch (default: left as it is, for an instant switch back)'),
  progressDeadlineSeconds: z.number().int().min(1).max(3600).default(600).describe('a rollout with no progress this long fails (ProgressDeadlineExceeded)'),
})
  .superRefine((t, ctx) => {
    if (t.strategy === 'blue-green' && !t.service) ctx.addIssue({ code: 'custom', path: ['service'], message: 'blue-green needs the Service to switch' });
    if (Object.keys(t.images).length === 0 && Object.keys(t.env).length === 0) ctx.addIssue({ code: 'custom', path: ['images'], message: 'give at least one new image or env change' });
  })
  // The refinements above, as the published JSON Schema says them.
  .meta({
    allOf: [
      { anyOf: [{ required: ['images'], properties: { images: { minProperties: 1 } } }, { required: ['env'], properties: { env: { minProperties: 1 } } }] },
      { if: { required: ['strategy'], properties: { strategy: { const: 'blue-green' } } }, then: { required: ['service'] } },
    ],
  });

export const deployParamsSchema = z
  .strictObject({
    target: z.discriminatedUnion('platform', [dockerTargetSchema, kubernetesTargetSchema]),
    verification: verificationSchema.optional(),
    requireApproval: z.boolean().default(false).describe('wait for a person after showing the diff, before anything changes'),
    rollbackOf: z.uuid().optional().describe('set by the platform on a rollback run: the deploy run it undoes'),
  });
export type DeployParams = z.infer<typeof deployParamsSchema>;
export type DockerTarget = z.infer<typeof dockerTargetSchema>;
export type KubernetesTarget = z.infer<typeof kubernetesTargetSchema>;
export type Verification = z.infer<typeof verificationSchema>;

/** `docker:<integration>/<container>` or `kubernetes:<integration>/<namespace?>/<deployment>`: one active deploy per target. */
export const deployTargetOf = (t: DeployParams['target']) =>
  t.platform === 'docker' ? `docker:${t.integration}/${t.container}` : `kubernetes:${t.integration}/${t.namespace ?? ''}/${t.deployment}`;

export const deployKind = defineKind({
  kind: 'deploy',
  title: 'Deploy',
  description: 'Rolls a new version out to a Kubernetes Deployment or a Docker host, shows what changes first, verifies it and rolls back by itself when it is not healthy.',
  paramsSchema: deployParamsSchema,
  workflowType: 'deployRun',
  taskQueue: TASK_QUEUES.delivery,
  target: (p) => deployTargetOf(p.target),
  integrations: (p) => [p.target.integration],
  // A run that leaves the namespace out deploys to the integration's default: the same Deployment as one naming it.
  settledTarget: (p, settings) =>
    deployTargetOf(p.target.platform === 'kubernetes' && !p.target.namespace ? { ...p.target, namespace: String(settings.get(p.target.integration)?.namespace ?? 'default') } : p.target),
  approval: 'optional',
  summary: 'deploy',
  // Env often carries secrets: a run's view shows which variables it sets, never their values (as its diff does).
  shownParams: (p) => ({ ...p, target: { ...p.target, env: hiddenEnv(p.target) } }),
});

const HIDDEN = '(hidden)';
const hide = (env: Record<string, string> | undefined) => Object.fromEntries(Object.keys(env ?? {}).map((k) => [k, HIDDEN]));
function hiddenEnv(t: DeployParams['target']) {
  if (t.platform === 'docker') return hide(t.env);
  return Object.fromEntries(Object.entries(t.env ?? {}).map(([container, env]) => [container, hide(env)]));
}

/** One line of the diff shown before anything changes. */
export type DeployChange = { container: string; field: 'image' | 'port' | `env.${string}`; from: string | null; to: string | null };

/** What was live before the run: enough to put it back. */
export type RollbackPoint =
  | { platform: 'docker'; container: string; containerId: string; image: string; port: number | null; startedAt?: string }
  | {
      platform: 'kubernetes';
      namespace: string;
      deployment: string;
      images: Record<string, string>;
      template: Record<string, unknown>;
      /** Blue-green: the Service's selector before the run, the Deployment it selected and the one the run deploys to. */
      /** `liveReplicas`: the live Deployment's replicas when planned (the switch may scale it down; a rollback restores them). Absent in plans made before it was recorded. */
      blueGreen?: { service: string; selector: Record<string, string>; live: string; next: string; slot: string; liveReplicas?: number };
    };

export type DeployPlan = { changes: DeployChange[]; rollbackPoint: RollbackPoint };

/** A rollout's progress as the dashboard draws it (replicas as a bar). */
export type RolloutProgress = { replicas: number; updated: number; ready: number; available: number; message: string };

export type DeploySummary = {
  platform: 'docker' | 'kubernetes';
  target: string;
  changes: DeployChange[];
  /** Images live before the run, by container. */
  previous: Record<string, string>;
  /** Images live when the run ended, by container. */
  live: Record<string, string>;
  progress?: RolloutProgress;
  rolledBack?: { to: Record<string, string>; reason: string };
};

/** Error type of a deploy step that failed for a reason a retry will not change (bad image, unhealthy, forbidden). */
export const DEPLOY_FAILED = FAILURE_TYPES.deploy;

export type DeployRunInput = RunInput<DeployParams>;
