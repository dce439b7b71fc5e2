import { isDeepStrictEqual } from 'node:util';
import { ApiException, type AppsV1Api, type V1Deployment, type V1PodTemplateSpec } from '@kubernetes/client-node';
import type { DeployChange, DeployPlan, KubernetesTarget, RollbackPoint, RolloutProgress } from '../../contracts/kinds/deploy.ts';
import { deployFailure } from './failures.ts';

type KubeRollback = Extract<RollbackPoint, { platform: 'kubernetes' }>;
export type Progress = (p: RolloutProgress) => void;

const CONFLICT_RETRIES = 5;

/** An API server answer as a run error a person can act on; anything else (network) is left to Temporal's retries. */
export function explain(err: unknown, what: string): unknown {
  if (!(err instanceof ApiException)) {
    const code = (err as { code?: string; cause?: { code?: string } }).cause?.code ?? (err as { code?: string }).code;
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH') return new Error(`the Kubernetes API server is unreachable (${code}) while ${what}`);
    return err;
  }
  const reason = (() => {
    try {
      const body = typeof err.body === 'string' ? (JSON.parse(err.body) as { message?: string }) : (err.body as { message?: string });
      return body?.message ?? '';
    } catch {
      return String(err.body ?? '');
    }
  })();
  switch (err.code) {
    case 401:
      return deployFailure(`the Kubernetes API server refused the integration's credentials (401: expired or revoked token?) while ${what}`);
    case 403:
      return deployFailure(`forbidden by the cluster's RBAC while ${what}: ${reason}`);
    case 404:
      return deployFailure(`not found while ${what}: ${reason || 'no such Deployment or namespace'}`);
    default:
      return err.code >= 500 ? new Error(`the Kubernetes API server answered ${err.code} while ${what}: ${reason}`) : deployFailure(`the Kubernetes API server answered ${err.code} while ${what}: ${reason}`);
  }
}

export async function read(apps: AppsV1Api, namespace: string, name: string): Promise<V1Deployment> {
  try {
    return await apps.readNamespacedDeployment({ name, namespace });
  } catch (err) {
    throw explain(err, `reading deployment ${namespace}/${name}`);
  }
}

export const imagesOf = (template: V1PodTemplateSpec | undefined) => Object.fromEntries((template?.spec?.containers ?? []).map((c) => [c.name, c.image ?? '']));

/** The template with the run's images and env applied; unknown container names are an input error. */
export function desiredTemplate(current: V1PodTemplateSpec, t: KubernetesTarget): V1PodTemplateSpec {
  const template = structuredClone(current);
  const containers = template.spec?.containers ?? [];
  const known = new Set(containers.map((c) => c.name));
  for (const name of [...Object.keys(t.images), ...Object.keys(t.env)]) {
    if (!known.has(name)) throw deployFailure(`deployment ${t.deployment} has no container named ${name} (it has ${[...known].join(', ')})`);
  }
  for (const c of containers) {
    if (t.images[c.name]) c.image = t.images[c.name];
    for (const [name, value] of Object.entries(t.env[c.name] ?? {})) {
      const env = (c.env ??= []);
      const found = env.find((e) => e.name === name);
      if (found) {
        found.value = value;
        delete found.valueFrom;
      } else env.push({ name, value });
    }
  }
  return template;
}

export async function planKubernetes(apps: AppsV1Api, namespace: string, t: KubernetesTarget, liveName = t.deployment): Promise<DeployPlan> {
  const current = await read(apps, namespace, liveName);
  const template = current.spec!.template;
  const desired = desiredTemplate(template, t);
  const changes: DeployChange[] = [];
  for (const [i, c] of (template.spec?.containers ?? []).entries()) {
    const d = desired.spec!.containers[i]!;
    if (c.image !== d.image) changes.push({ container: c.name, field: 'image', from: c.image ?? null, to: d.image ?? null });
    const before = new Map((c.env ?? []).map((e) => [e.name, e]));
    for (const e of d.env ?? []) {
      const old = before.get(e.name);
      // Values are shown only as set/changed: env often carries secrets.
      if (!old) changes.push({ container: c.name, field: `env.${e.name}`, from: null, to: '(set)' });
      else if (!isDeepStrictEqual(old, e)) changes.push({ container: c.name, field: `env.${e.name}`, from: '(set)', to: '(changed)' });
    }
  }
  return {
    changes,
    rollbackPoint: { platform: 'kubernetes', namespace, deployment: liveName, images: imagesOf(template), template: template as unknown as Record<string, unknown> },
  };
}

/**
 * Writes `template` into the Deployment (and its progress deadline), unless it is there already — a
 * retried step after a worker died must not count as a second rollout. A 409 (someone changed the
 * Deployment since we read it) is retried on a fresh read.
 */
export async function putTemplate(apps: AppsV1Api, namespace: string, name: string, template: V1PodTemplateSpec, progressDeadlineSeconds?: number): Promise<V1Deployment> {
  for (let attempt = 1; ; attempt++) {
    const current = await read(apps, namespace, name);
    const same = isDeepStrictEqual(stripped(current.spec!.template), stripped(template));
    const deadlineSame = progressDeadlineSeconds === undefined || current.spec!.progressDeadlineSeconds === progressDeadlineSeconds;
    if (same && deadlineSame) return current;
    current.spec!.template = template;
    if (progressDeadlineSeconds !== undefined) current.spec!.progressDeadlineSeconds = progressDeadlineSeconds;
    try {
      return await apps.replaceNamespacedDeployment({ name, namespace, body: current });
    } catch (err) {
      if (err instanceof ApiException && err.code === 409 && attempt < CONFLICT_RETRIES) continue;
      throw explain(err, `updating deployment ${namespace}/${name}`);
    }
  }
}

/** Compared without what the API server fills in by itself (creationTimestamp of a template is null or absent). */
const stripped = (t: V1PodTemplateSpec) => JSON.parse(JSON.stringify({ ...t, metadata: { ...t.metadata, creationTimestamp: undefined } }));

/**
 * Follows a rollout as `kubectl rollout status` decides it: the controller has seen the new generation,
 * every replica is updated and available and no old one is left; ProgressDeadlineExceeded on the
 * Progressing condition is a failure.
 */
export async function follow(apps: AppsV1Api, namespace: string, name: string, onProgress: Progress, signal: AbortSignal, pollMs: number): Promise<void> {
  for (;;) {
    signal.throwIfAborted();
    const d = await read(apps, namespace, name);
    const want = d.spec?.replicas ?? 1;
    const s = d.status ?? {};
    const progressing = s.conditions?.find((c) => c.type === 'Progressing');
    const progress: RolloutProgress = {
      replicas: want,
      updated: s.updatedReplicas ?? 0,
      ready: s.readyReplicas ?? 0,
      available: s.availableReplicas ?? 0,
      message: progressing?.message ?? '',
    };
    onProgress(progress);
    // Until the controller has seen this generation, the conditions still describe the one before.
    const observed = (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0);
    if (observed && progressing?.reason === 'ProgressDeadlineExceeded') {
      throw deployFailure(`rollout of ${namespace}/${name} made no progress within its deadline (ProgressDeadlineExceeded): ${progressing.message ?? ''}`.trim());
    }
    if (observed && progress.updated >= want && (s.replicas ?? 0) <= progress.updated && progress.available >= want) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, pollMs);
      signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
    });
  }
}

export async function rolloutKubernetes(apps: AppsV1Api, namespace: string, t: KubernetesTarget, point: KubeRollback, onProgress: Progress, signal: AbortSignal, pollMs = 1_000) {
  const desired = desiredTemplate(point.template as V1PodTemplateSpec, t);
  await putTemplate(apps, namespace, t.deployment, desired, t.progressDeadlineSeconds);
  await follow(apps, namespace, t.deployment, onProgress, signal, pollMs);
  return imagesOf(desired);
}

/** Restores the recorded template and follows that rollout too. */
export async function rollbackKubernetes(apps: AppsV1Api, point: KubeRollback, onProgress: Progress, signal: AbortSignal, pollMs = 1_000) {
  await putTemplate(apps, point.namespace, point.deployment, point.template as V1PodTemplateSpec);
  await follow(apps, point.namespace, point.deployment, onProgress, signal, pollMs);
  return point.images;
}
