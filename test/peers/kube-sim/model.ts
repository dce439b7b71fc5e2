import { createHash } from 'node:crypto';
import type http from 'node:http';

// The simulation's objects and the shapes the API serves them in (see ../kube-sim.ts).

export type Container = { name: string; image: string; env?: Array<{ name: string; value?: string }> };
export type Template = { metadata?: { labels?: Record<string, string>; creationTimestamp?: string | null }; spec: { containers: Container[] } };
export type ReplicaSet = { hash: string; template: Template; replicas: number; ready: number; created: number };
export type Deployment = {
  namespace: string;
  name: string;
  uid: string;
  generation: number;
  observedGeneration: number;
  resourceVersion: string;
  replicas: number;
  progressDeadlineSeconds: number;
  selector: Record<string, string>;
  template: Template;
  sets: ReplicaSet[];
  lastProgress: number;
  conditions: Array<Record<string, unknown>>;
  annotations: Record<string, string>;
  /** Readiness flapping on demand (see controller.ts). */
  flapping?: boolean;
};
export type Service = { namespace: string; name: string; selector: Record<string, string>; resourceVersion: string; port: number };

export type Watcher = { ns: string; name?: string; res: http.ServerResponse; bookmarks: boolean };

/** Everything the simulated cluster holds; the API, the controller and the workload share it. */
export function createState() {
  const state = {
    namespaces: new Set<string>(['default']),
    forbidden: new Set<string>(),
    deployments: new Map<string, Deployment>(),
    services: new Map<string, Service>(),
    watchers: new Set<Watcher>(),
    watchesStarted: 0,
    requests: [] as Array<{ method: string; path: string }>,
    version: 1000,
    conflictsToInject: 0,
    nextVersion: () => String(++state.version),
  };
  return state;
}
export type State = ReturnType<typeof createState>;

export const key = (ns: string, name: string) => `${ns}/${name}`;
/** Keys sorted at every level: a client that writes back what it read may order fields its own way. */
const canonical = (v: unknown): unknown =>
  Array.isArray(v) ? v.map(canonical) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)).map(([k, x]) => [k, canonical(x)])) : v;
// As the Deployment controller's pod-template-hash: the same template, however it was serialized, is the same ReplicaSet.
export const hashOf = (t: Template) => createHash('sha256').update(JSON.stringify(canonical(t.spec))).digest('hex').slice(0, 10);

export function status(code: number, reason: string, message: string) {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

export function toObject(d: Deployment) {
  const current = d.sets.find((s) => s.hash === hashOf(d.template));
  const all = d.sets.reduce((n, s) => n + s.replicas, 0);
  const ready = d.sets.reduce((n, s) => n + s.ready, 0);
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: d.name, namespace: d.namespace, uid: d.uid, generation: d.generation, resourceVersion: d.resourceVersion, annotations: d.annotations, creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: {
      replicas: d.replicas,
      selector: { matchLabels: d.selector },
      template: d.template,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      progressDeadlineSeconds: d.progressDeadlineSeconds,
      revisionHistoryLimit: 10,
    },
    status: {
      observedGeneration: d.observedGeneration,
      replicas: all,
      updatedReplicas: current?.replicas ?? 0,
      readyReplicas: ready,
      availableReplicas: ready,
      unavailableReplicas: Math.max(0, all - ready),
      conditions: d.conditions,
    },
  };
}

export function notify(state: State, d: Deployment, type: 'ADDED' | 'MODIFIED') {
  for (const w of state.watchers) if (w.ns === d.namespace && (!w.name || w.name === d.name)) w.res.write(`${JSON.stringify({ type, object: toObject(d) })}\n`);
}

export const serviceObject = (s: Service) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: s.name, namespace: s.namespace, resourceVersion: s.resourceVersion },
  spec: { selector: s.selector, ports: [{ port: s.port, protocol: 'TCP' }] },
});
