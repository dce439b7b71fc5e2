import { Context } from '@temporalio/activity';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { DeployParams, DeployPlan, RolloutProgress, Verification } from '../../contracts/kinds/deploy.ts';
import { loadIntegrationSecret } from '../../core/integrations/store.ts';
import type { RunEventStore } from '../../core/run-events.ts';
import type { Keyring } from '../../core/secrets/keyring.ts';
import { dockerFor, kubernetesFor } from '../integration-clients.ts';
import { FollowLock } from '../process/follow-lock.ts';
import { planDocker, rollbackDocker, rolloutDocker } from './docker.ts';
import { deployFailure } from './failures.ts';
import { queryUnder } from './prometheus.ts';
import { verify } from './verify.ts';

export type DeployDeps = {
  em: EntityManager;
  events: RunEventStore;
  keyring: Keyring;
  /** For the per-run lock that keeps two attempts off one Docker host's containers at once. */
  databaseUrl: string;
  /** How often a Docker candidate is looked at while it starts (inspected, its health URL asked); Kubernetes rollouts are watched. */
  pollMs?: number;
};

export type DeployStepInput = { runId: string; teamId: string; params: DeployParams };
export type DeployRolloutInput = DeployStepInput & { plan: DeployPlan };
export type DeployRolloutResult = { live: Record<string, string> };

/**
 * One attempt at a time acts on a run's Docker containers. An attempt still alive after missing its
 * heartbeat timeout is replaced before it learns so; without this, the two would create, rename and
 * remove the same containers at once (and a rollback could run beside the rollout it undoes). A later
 * attempt waits, then finds where the earlier one left the host and goes on from there.
 */
async function exclusively<T>(deps: DeployDeps, runId: string, fn: () => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const lock = new FollowLock(deps.databaseUrl, `deploy:${runId}`);
  while (!(await lock.take())) {
    ctx.heartbeat();
    await ctx.sleep(250);
  }
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}

/**
 * Runs `fn` with the step's cancellation signal, heartbeating every second (a worker that dies is
 * noticed within the heartbeat timeout; a cancel reaches the step through its heartbeat), and a way to
 * record rollout progress as `metric` events — only when it changed, so a long wait is not a flood.
 */
async function step<T>(deps: DeployDeps, runId: string, fn: (tools: { signal: AbortSignal; note: (m: string) => void; progress: (p: RolloutProgress) => void }) => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const attempt = ctx.info.attempt;
  const timer = setInterval(() => ctx.heartbeat(), 1_000);
  let lastNote = '';
  let lastProgress = '';
  // Appended one after another (in order) without holding the step up; awaited before the step ends,
  // so its last progress is on record before the workflow moves on.
  let pending: Promise<unknown> = Promise.resolve();
  const emit = (message: string, data?: Record<string, unknown>) => {
    pending = pending.then(() => deps.events.append(runId, [{ type: data ? 'metric' : 'log', level: 'info', message, ...(data ? { data } : {}), attempt }])).catch(() => undefined);
  };
  try {
    return await fn({
      signal: ctx.cancellationSignal,
      note: (m) => {
        ctx.heartbeat();
        if (m !== lastNote) emit((lastNote = m));
      },
      progress: (p) => {
        ctx.heartbeat(p);
        const text = `${p.updated}/${p.replicas} updated, ${p.ready} ready, ${p.available} available`;
        if (text !== lastProgress) emit((lastProgress = text), { progress: p });
      },
    });
  } finally {
    clearInterval(timer);
    await pending;
  }
}

/** The verification with `{deployment}` in its URLs and query replaced by the Deployment verified. */
const verificationFor = (v: Verification, deployment: string): Verification => ({
  ...v,
  checks: v.checks.map((c) => ({ ...c, url: c.url.replaceAll('{deployment}', deployment) })),
  ...(v.prometheus ? { prometheus: { ...v.prometheus, query: v.prometheus.query.replaceAll('{deployment}', deployment) } } : {}),
});

/** A PromQL query Prometheus cannot parse fails the run before anything changes, not after the rollout. */
async function checkQuery(v: Verification | undefined, deployment: string) {
  if (!v?.prometheus) return;
  const answer = await queryUnder(verificationFor(v, deployment).prometheus!);
  if (answer.badQuery) throw deployFailure(`the verification's ${answer.detail}`);
}

/** The Kubernetes steps, loaded with the client library on a worker's first cluster deploy (see integration-clients.ts). */
const kubernetesSteps = async () => ({ ...(await import('./kubernetes.ts')), ...(await import('./blue-green.ts')) });

export function createDeployActivities(deps: DeployDeps) {
  const docker = async (teamId: string, integrationId: string) => {
    const loaded = await loadIntegrationSecret(deps.em.fork(), deps.keyring, { teamId, integrationId, type: 'docker' });
    return dockerFor(loaded.settings, loaded.secrets);
  };
  const kube = async (teamId: string, integrationId: string, namespace?: string) => {
    const loaded = await loadIntegrationSecret(deps.em.fork(), deps.keyring, { teamId, integrationId, type: 'kubernetes' });
    return { ...(await kubernetesFor(loaded.settings, loaded.secrets)), namespace: namespace ?? loaded.settings.namespace, steps: await kubernetesSteps() };
  };

  return {
    /** Reads what is live (the rollback point) and what the run would change; touches nothing. */
    async deployPlan({ teamId, params }: DeployStepInput): Promise<DeployPlan> {
      const t = params.target;
      await checkQuery(params.verification, t.platform === 'kubernetes' ? t.deployment : '');
      if (t.platform === 'docker') return planDocker(await docker(teamId, t.integration), t);
      const { apps, core, namespace, steps } = await kube(teamId, t.integration, t.namespace);
      return t.strategy === 'blue-green' ? steps.planBlueGreen(apps, core, namespace, t) : steps.planKubernetes(apps, namespace, t);
    },

    async deployRollout({ runId, teamId, params, plan }: DeployRolloutInput): Promise<DeployRolloutResult> {
      const t = params.target;
      const point = plan.rollbackPoint;
      return step(deps, runId, async ({ signal, note, progress }) => {
        if (t.platform === 'docker' && point.platform === 'docker') {
          const done = await exclusively(deps, runId, async () => rolloutDocker(await docker(teamId, t.integration), t, runId, point, note, signal, deps.pollMs));
          return { live: { [t.container]: done.image } };
        }
        if (t.platform === 'kubernetes' && point.platform === 'kubernetes') {
          const k = await kube(teamId, t.integration, t.namespace);
          if (point.blueGreen) return { live: await k.steps.rolloutBlueGreen(k, k.core, t, point, progress, signal) };
          return { live: await k.steps.rolloutKubernetes(k, point.namespace, t, point, progress, signal) };
        }
        throw new Error('the rollback point is for another platform than the target');
      });
    },

    /** The verification gate; for blue-green before the switch, `{deployment}` in a URL naming the new Deployment. */
    async deployVerify({ runId, params, plan }: DeployStepInput & { plan?: DeployPlan }): Promise<{ rounds: number }> {
      if (!params.verification) return { rounds: 0 };
      const point = plan?.rollbackPoint;
      const name = point?.platform === 'kubernetes' ? (point.blueGreen?.next ?? point.deployment) : '';
      const v = verificationFor(params.verification, name);
      const passed = [v.checks.length ? `${v.checks.length} check(s)` : '', v.prometheus ? 'the Prometheus query' : ''].filter(Boolean).join(' and ');
      return step(deps, runId, ({ signal, note }) => verify(v, (round) => note(`verification round ${round}: ${passed} passed`), signal));
    },

    /** Blue-green: the Service selects the new Deployment (verified already). */
    async deploySwitch({ teamId, params, plan }: DeployRolloutInput): Promise<void> {
      const t = params.target;
      const point = plan.rollbackPoint;
      if (t.platform !== 'kubernetes' || point.platform !== 'kubernetes' || !point.blueGreen) throw new Error('deploySwitch is for blue-green deploys');
      const { apps, core, steps } = await kube(teamId, t.integration, t.namespace);
      await steps.switchBlueGreen(apps, core, t, point);
    },

    /** Puts the rollback point back and waits until it is live again. */
    async deployRollback({ runId, teamId, params, plan }: DeployRolloutInput): Promise<DeployRolloutResult & { changed: boolean }> {
      const t = params.target;
      const point = plan.rollbackPoint;
      return step(deps, runId, async ({ signal, note, progress }) => {
        if (t.platform === 'docker' && point.platform === 'docker') {
          const done = await exclusively(deps, runId, async () => rollbackDocker(await docker(teamId, t.integration), t, runId, point, note, signal, deps.pollMs));
          return { live: { [t.container]: done.image }, changed: done.changed };
        }
        if (point.platform === 'kubernetes' && t.platform === 'kubernetes') {
          const k = await kube(teamId, t.integration, t.namespace);
          if (point.blueGreen) return { live: await k.steps.rollbackBlueGreen(k, k.core, point, progress, signal), changed: true };
          const back = await k.steps.rollbackKubernetes(k, t, point, progress, signal);
          return { live: back.images, changed: back.changed };
        }
        throw new Error('the rollback point is for another platform than the target');
      });
    },
  };
}
