import { isDeepStrictEqual } from 'node:util';
import { ApiException, type AppsV1Api, type V1Deployment, type V1PodTemplateSpec, type Watch } from '@kubernetes/client-node';
import type { DeployChange, DeployPlan, KubernetesTarget, RollbackPoint, RolloutProgress } from '../../contracts/kinds/deploy.ts';
import { deployFailure } from './failures.ts';

type KubeRollback = Extract<RollbackPoint, { platform: 'kubernetes' }>;
export type Progress = (p: RolloutProgress) => void;
/** The clients a rollout is followed with. */
export type Kube = { apps: AppsV1Api; watch: Watch };

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
 * retried step after a worker died must not count as a second rollout. The write replaces the whole
 * pod template, so it goes ahead only while the live one is still `expected` (what the plan read, or
 * what this run wrote): a change someone made since (kubectl set env, rollout restart) would be undone
 * without anyone seeing it in a diff. A 409 (changed since we read it) is retried on a fresh read.
 */
export async function putTemplate(apps: AppsV1Api, namespace: string, name: string, template: V1PodTemplateSpec, expected: V1PodTemplateSpec, progressDeadlineSeconds?: number): Promise<V1Deployment> {
  for (let attempt = 1; ; attempt++) {
    const current = await read(apps, namespace, name);
    const same = isDeepStrictEqual(stripped(current.spec!.template), stripped(template));
    const deadlineSame = progressDeadlineSeconds === undefined || current.spec!.progressDeadlineSeconds === progressDeadlineSeconds;
    if (same && deadlineSame) return current;
    if (!same && !isDeepStrictEqual(stripped(current.spec!.template), stripped(expected))) {
      throw deployFailure(`deployment ${namespace}/${name} changed since this run read it (its pod template is not the one the diff was made from); nothing was written: start the deploy again to see the new diff`);
    }
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
 * Where a rollout stands, as `kubectl rollout status` decides it: the controller has seen the new
 * generation, every replica is updated and available and no old one is left (true); still going
 * (false); ProgressDeadlineExceeded on the Progressing condition throws.
 */
function judge(d: V1Deployment, namespace: string, name: string, onProgress: Progress): boolean {
  const want = d.spec?.replicas ?? 1;
  const s = d.status ?? {};
  const progressing = s.conditions?.find((c) => c.type === 'Progressing');
  const progress: RolloutProgress = { replicas: want, updated: s.updatedReplicas ?? 0, ready: s.readyReplicas ?? 0, available: s.availableReplicas ?? 0, message: progressing?.message ?? '' };
  onProgress(progress);
  // Until the controller has seen this generation, the conditions still describe the one before.
  const observed = (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0);
  if (observed && progressing?.reason === 'ProgressDeadlineExceeded') {
    throw deployFailure(`rollout of ${namespace}/${name} made no progress within its deadline (ProgressDeadlineExceeded): ${progressing.message ?? ''}`.trim());
  }
  return observed && progress.updated >= want && (s.replicas ?? 0) <= progress.updated && progress.available >= want;
}

/** A watch that ends by itself (the server's timeout, a dropped connection, 410 Gone) is started again from a fresh read. */
const WATCH_SECONDS = 60;

/**
 * Follows a rollout: one read, then a watch of that Deployment from the resourceVersion read (with
 * bookmarks, so an idle watch stays open), judging every change as it comes. When the watch ends, the
 * Deployment is read again and watched again, so nothing between two watches is missed.
 */
export async function follow(kube: Kube, namespace: string, name: string, onProgress: Progress, signal: AbortSignal): Promise<void> {
  for (let quiet = 0; ; ) {
    signal.throwIfAborted();
    const d = await read(kube.apps, namespace, name);
    if (judge(d, namespace, name, onProgress)) return;
    const outcome = await watchUntilDone(kube.watch, namespace, name, d.metadata?.resourceVersion, onProgress, signal);
    if (outcome === 'done') return;
    // A watch refused or dropped at once must not become a busy loop of reads.
    quiet = outcome === 'failed' ? Math.min(quiet * 2 || 250, 5_000) : 0;
    if (quiet) await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, quiet);
      signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
    });
  }
}

function watchUntilDone(watch: Watch, namespace: string, name: string, resourceVersion: string | undefined, onProgress: Progress, signal: AbortSignal): Promise<'done' | 'ended' | 'failed'> {
  return new Promise((resolve, reject) => {
    let controller: AbortController | undefined;
    let settled = false;
    const finish = (settle: () => void) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      controller?.abort();
      settle();
    };
    const onAbort = () => finish(() => resolve('ended'));
    signal.addEventListener('abort', onAbort, { once: true });
    const query = { fieldSelector: `metadata.name=${name}`, allowWatchBookmarks: true, timeoutSeconds: WATCH_SECONDS, ...(resourceVersion ? { resourceVersion } : {}) };
    watch
      .watch(
        `/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}/deployments`,
        query,
        (type, object: V1Deployment) => {
          if (type === 'BOOKMARK' || object?.metadata?.name !== name) return;
          // ERROR is a Status, e.g. 410 Gone when the resourceVersion is too old: read afresh.
          if (type === 'ERROR') return finish(() => resolve('failed'));
          if (type === 'DELETED') return finish(() => reject(deployFailure(`deployment ${namespace}/${name} was deleted during the rollout`)));
          try {
            if (judge(object, namespace, name, onProgress)) finish(() => resolve('done'));
          } catch (err) {
            finish(() => reject(err));
          }
        },
        (err: unknown) => {
          const code = (err as { statusCode?: number } | null)?.statusCode;
          if (code === 401 || code === 403) return finish(() => reject(explain(new ApiException(code, '', JSON.stringify({ message: `watch of deployments in ${namespace} refused` }), {}), `watching deployment ${namespace}/${name}`)));
          finish(() => resolve(err ? 'failed' : 'ended'));
        },
      )
      .then(
        (c) => {
          controller = c;
          if (settled) c.abort();
        },
        () => finish(() => resolve('failed')),
      );
  });
}

export async function rolloutKubernetes(kube: Kube, namespace: string, t: KubernetesTarget, point: KubeRollback, onProgress: Progress, signal: AbortSignal) {
  const desired = desiredTemplate(point.template as V1PodTemplateSpec, t);
  await putTemplate(kube.apps, namespace, t.deployment, desired, point.template as V1PodTemplateSpec, t.progressDeadlineSeconds);
  await follow(kube, namespace, t.deployment, onProgress, signal);
  return imagesOf(desired);
}

/**
 * Restores the recorded template over the one this run wrote, and follows that rollout too. When the
 * live template is neither (someone changed it, and this run wrote nothing), it is left alone:
 * `changed` false, with what it runs.
 */
export async function rollbackKubernetes(kube: Kube, t: KubernetesTarget, point: KubeRollback, onProgress: Progress, signal: AbortSignal): Promise<{ images: Record<string, string>; changed: boolean }> {
  const recorded = point.template as V1PodTemplateSpec;
  const ours = desiredTemplate(recorded, t);
  const live = (await read(kube.apps, point.namespace, point.deployment)).spec!.template;
  if (!isDeepStrictEqual(stripped(live), stripped(recorded)) && !isDeepStrictEqual(stripped(live), stripped(ours))) return { images: imagesOf(live), changed: false };
  await putTemplate(kube.apps, point.namespace, point.deployment, recorded, ours);
  await follow(kube, point.namespace, point.deployment, onProgress, signal);
  return { images: point.images, changed: true };
}
