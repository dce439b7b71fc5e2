import { ApiException, type AppsV1Api, type CoreV1Api, type V1Deployment, type V1PodTemplateSpec } from '@kubernetes/client-node';
import type { DeployPlan, KubernetesTarget, RollbackPoint } from '../../contracts/kinds/deploy.ts';
import { deployFailure } from './failures.ts';
import { desiredTemplate, explain, follow, imagesOf, planKubernetes, read, type Kube, type Progress } from './kubernetes.ts';

/**
 * Blue-green on Kubernetes: two Deployments, `<name>-blue` and `<name>-green`, whose pods carry the
 * label `opssight.io/slot`; the Service selects one slot. The first blue-green run starts from the
 * plain `<name>` Deployment (the Service's selector has no slot yet). The new slot's pods carry every
 * label that selector asks for, so the first run first pins the Service to the live ReplicaSet's
 * `pod-template-hash` (only the live pods have it) until the switch; otherwise the unverified version
 * would get live traffic as soon as its pods were ready. A run deploys the other slot
 * (created, or replaced when it is there from an earlier run), follows its rollout, is verified
 * against it, and only then switches the Service's selector. The old Deployment stays up (or is
 * scaled to keepOldReplicas), so switching back is a selector change.
 */
export const SLOT_LABEL = 'opssight.io/slot';
type KubeRollback = Extract<RollbackPoint, { platform: 'kubernetes' }>;

async function readService(core: CoreV1Api, namespace: string, name: string) {
  try {
    return await core.readNamespacedService({ name, namespace });
  } catch (err) {
    throw explain(err, `reading service ${namespace}/${name}`);
  }
}

export async function planBlueGreen(apps: AppsV1Api, core: CoreV1Api, namespace: string, t: KubernetesTarget): Promise<DeployPlan> {
  const service = await readService(core, namespace, t.service!);
  const selector = { ...(service.spec?.selector ?? {}) };
  const liveSlot = selector[SLOT_LABEL];
  const live = liveSlot ? `${t.deployment}-${liveSlot}` : t.deployment;
  const slot = liveSlot === 'blue' ? 'green' : 'blue';
  const [plan, current] = await Promise.all([planKubernetes(apps, namespace, t, live), read(apps, namespace, live)]);
  const point = plan.rollbackPoint as KubeRollback;
  const liveReplicas = current.spec?.replicas ?? 1;
  return { changes: plan.changes, rollbackPoint: { ...point, blueGreen: { service: t.service!, selector, live, next: `${t.deployment}-${slot}`, slot, liveReplicas } } };
}

const TEMPLATE_HASH = 'pod-template-hash';

/** The Service's selector narrowed to the live Deployment's current pods: its one ReplicaSet with replicas. */
async function pinnedToLive(apps: AppsV1Api, ns: string, live: V1Deployment, selector: Record<string, string>): Promise<Record<string, string>> {
  const name = live.metadata!.name!;
  const labelSelector = Object.entries(live.spec?.selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
  const sets = (await apps.listNamespacedReplicaSet({ namespace: ns, labelSelector }).catch((err: unknown) => {
    throw explain(err, `listing the replica sets of ${ns}/${name}`);
  })).items.filter((rs) => rs.metadata?.ownerReferences?.some((o) => o.controller && o.kind === 'Deployment' && o.name === name) && (rs.spec?.replicas ?? 0) > 0);
  const hash = sets.length === 1 ? sets[0]!.metadata?.labels?.[TEMPLATE_HASH] : undefined;
  if (!hash) throw deployFailure(`deployment ${ns}/${name} is not settled (${sets.length} replica sets have replicas): a first blue-green deploy keeps the Service on the live pods by their ${TEMPLATE_HASH}, and needs exactly one; retry once its rollout ended`);
  return { ...selector, [TEMPLATE_HASH]: hash };
}

/** A first blue-green run: the recorded selector does not tell the slots apart. */
const firstRun = (bg: NonNullable<KubeRollback['blueGreen']>) => !bg.selector[SLOT_LABEL];

/** Creates or replaces the new slot's Deployment from the live one (new images, the slot label) and follows it. */
export async function rolloutBlueGreen(kube: Kube, core: CoreV1Api, t: KubernetesTarget, point: KubeRollback, onProgress: Progress, signal: AbortSignal) {
  const { apps } = kube;
  const bg = point.blueGreen!;
  const ns = point.namespace;
  const live = await read(apps, ns, bg.live);
  if (firstRun(bg)) {
    const pinned = await pinnedToLive(apps, ns, live, bg.selector);
    const service = await readService(core, ns, bg.service);
    if (JSON.stringify(service.spec?.selector ?? {}) !== JSON.stringify(pinned)) await setSelector(core, ns, bg.service, pinned);
  }
  const template = desiredTemplate(point.template as V1PodTemplateSpec, t);
  template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, [SLOT_LABEL]: bg.slot } };
  const body: V1Deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: bg.next, namespace: ns, labels: { ...live.metadata?.labels, [SLOT_LABEL]: bg.slot } },
    spec: {
      ...live.spec!,
      selector: { matchLabels: { ...live.spec?.selector?.matchLabels, [SLOT_LABEL]: bg.slot } },
      template,
      progressDeadlineSeconds: t.progressDeadlineSeconds,
    },
  };
  try {
    await apps.createNamespacedDeployment({ namespace: ns, body });
  } catch (err) {
    if (!(err instanceof ApiException && err.code === 409)) throw explain(err, `creating deployment ${ns}/${bg.next}`);
    // There from an earlier run (or this step's earlier attempt): make it this version.
    for (let attempt = 1; ; attempt++) {
      const existing = await read(apps, ns, bg.next);
      existing.spec = { ...existing.spec!, replicas: live.spec?.replicas, template, progressDeadlineSeconds: t.progressDeadlineSeconds };
      try {
        await apps.replaceNamespacedDeployment({ name: bg.next, namespace: ns, body: existing });
        break;
      } catch (e) {
        if (e instanceof ApiException && e.code === 409 && attempt < 5) continue;
        throw explain(e, `updating deployment ${ns}/${bg.next}`);
      }
    }
  }
  await follow(kube, ns, bg.next, onProgress, signal);
  return imagesOf(template);
}

/** Points the Service at `selector`, retrying on a stale resourceVersion. */
async function setSelector(core: CoreV1Api, ns: string, name: string, selector: Record<string, string>) {
  for (let attempt = 1; ; attempt++) {
    const service = await readService(core, ns, name);
    service.spec = { ...service.spec, selector };
    try {
      return await core.replaceNamespacedService({ name, namespace: ns, body: service });
    } catch (err) {
      if (err instanceof ApiException && err.code === 409 && attempt < 5) continue;
      throw explain(err, `switching service ${ns}/${name}`);
    }
  }
}

async function scale(apps: AppsV1Api, ns: string, name: string, replicas: number) {
  for (let attempt = 1; ; attempt++) {
    const d = await read(apps, ns, name);
    if (d.spec!.replicas === replicas) return;
    d.spec!.replicas = replicas;
    try {
      await apps.replaceNamespacedDeployment({ name, namespace: ns, body: d });
      return;
    } catch (err) {
      if (err instanceof ApiException && err.code === 409 && attempt < 5) continue;
      throw explain(err, `scaling deployment ${ns}/${name}`);
    }
  }
}

/** The switch: the Service selects the new slot; the old Deployment is scaled when asked. */
export async function switchBlueGreen(apps: AppsV1Api, core: CoreV1Api, t: KubernetesTarget, point: KubeRollback) {
  const bg = point.blueGreen!;
  const selector = { ...bg.selector, ...(await read(apps, point.namespace, bg.next)).spec!.selector!.matchLabels, [SLOT_LABEL]: bg.slot };
  await setSelector(core, point.namespace, bg.service, selector);
  if (t.keepOldReplicas !== undefined) await scale(apps, point.namespace, bg.live, t.keepOldReplicas);
}

/**
 * Back to the recorded selector, once the old Deployment serves again at the replicas it had when
 * planned (the switch may have scaled it to keepOldReplicas); the new slot is scaled to zero.
 */
export async function rollbackBlueGreen(kube: Kube, core: CoreV1Api, point: KubeRollback, onProgress: Progress, signal: AbortSignal) {
  const { apps } = kube;
  const bg = point.blueGreen!;
  if (bg.liveReplicas !== undefined) await scale(apps, point.namespace, bg.live, bg.liveReplicas);
  const live = await read(apps, point.namespace, bg.live);
  if ((live.status?.availableReplicas ?? 0) < (live.spec?.replicas ?? 1)) await follow(kube, point.namespace, bg.live, onProgress, signal);
  const scaledDown = () =>
    scale(apps, point.namespace, bg.next, 0).then(
      () => true,
      (err: unknown) => {
        if ((err as { message?: string }).message?.startsWith('not found')) return false;
        throw err;
      },
    );
  const service = await readService(core, point.namespace, bg.service);
  const current = JSON.stringify(service.spec?.selector ?? {});
  if (firstRun(bg) && current !== JSON.stringify(bg.selector)) {
    // The recorded selector matches the new slot's pods too: the Service stays on the live pods alone
    // until none of the new slot's is ready, and only then gets its own selector back.
    const pinned = await pinnedToLive(apps, point.namespace, live, bg.selector);
    if (current !== JSON.stringify(pinned)) await setSelector(core, point.namespace, bg.service, pinned);
    if (await scaledDown()) await drained(apps, point.namespace, bg.next, signal);
    await setSelector(core, point.namespace, bg.service, bg.selector);
    return point.images;
  }
  if (current !== JSON.stringify(bg.selector)) await setSelector(core, point.namespace, bg.service, bg.selector);
  await scaledDown();
  return point.images;
}

/** Until the Deployment has no ready pod left (its controller takes them down on its own time). */
async function drained(apps: AppsV1Api, ns: string, name: string, signal: AbortSignal) {
  while (((await read(apps, ns, name)).status?.readyReplicas ?? 0) > 0) {
    signal.throwIfAborted();
    await new Promise((r) => setTimeout(r, 250));
  }
}
