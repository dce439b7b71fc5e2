import { hashOf, notify, toObject, type Deployment, type State, type Template } from './model.ts';

function condition(type: string, statusValue: 'True' | 'False', reason: string, message: string) {
  const now = new Date().toISOString();
  return { type, status: statusValue, reason, message, lastUpdateTime: now, lastTransitionTime: now };
}

/**
 * One step of the stand-in for the Deployment controller, run every tick: a new template gets a ReplicaSet,
 * which surges one pod at a time (maxSurge 1, maxUnavailable 0); a pod of a `bad` image never becomes
 * ready, so Progressing turns to ProgressDeadlineExceeded after spec.progressDeadlineSeconds.
 */
export function reconcile(state: State, d: Deployment, bad: (image: string) => boolean) {
  const before = JSON.stringify(toObject(d).status);
  d.observedGeneration = d.generation;
  const hash = hashOf(d.template);
  let current = d.sets.find((s) => s.hash === hash);
  if (!current) {
    current = { hash, template: structuredClone(d.template), replicas: 0, ready: 0, created: Date.now() };
    d.sets.push(current);
    d.lastProgress = Date.now();
  }
  // Scaled down: surplus pods of the current set go at once.
  if (current.replicas > d.replicas) {
    current.replicas = d.replicas;
    current.ready = Math.min(current.ready, d.replicas);
  }
  const old = d.sets.filter((s) => s !== current);
  const images = current.template.spec.containers.map((c) => c.image);
  const oldReplicas = old.reduce((n, s) => n + s.replicas, 0);
  if (current.ready < current.replicas) {
    if (!images.some(bad)) {
      current.ready++;
      d.lastProgress = Date.now();
    }
  } else if (current.replicas < d.replicas && current.replicas + oldReplicas <= d.replicas) {
    current.replicas++;
    d.lastProgress = Date.now();
  }
  for (const s of old) {
    // As the controller does first: pods of old sets that are not ready cost no availability.
    s.replicas = s.ready;
    while (s.replicas > 0 && current.ready + old.reduce((n, o) => n + o.ready, 0) > d.replicas) {
      s.replicas--;
      s.ready = Math.min(s.ready, s.replicas);
    }
  }
  // An old set with pods left once the new one is full is scaled down too.
  if (current.ready >= d.replicas) for (const s of old) s.replicas = s.ready = 0;
  // Flapping: once the current set has all its pods, the one that became ready this tick fails its
  // readiness probe again by the tick's end. Every replica is updated, never every one available, and the
  // rollout keeps "progressing" (no deadline): a state that holds between ticks, so a test can see it.
  if (d.flapping && current.replicas === d.replicas && current.ready > 0 && current.ready === current.replicas) current.ready--;
  const all = d.sets.reduce((n, s) => n + s.replicas, 0);
  const ready = d.sets.reduce((n, s) => n + s.ready, 0);
  const complete = current.replicas === d.replicas && all === d.replicas && ready === d.replicas;
  const stalled = !complete && Date.now() - d.lastProgress > d.progressDeadlineSeconds * 1000;
  const progressing = complete
    ? condition('Progressing', 'True', 'NewReplicaSetAvailable', `ReplicaSet "${d.name}-${hash}" has successfully progressed.`)
    : stalled
      ? condition('Progressing', 'False', 'ProgressDeadlineExceeded', `ReplicaSet "${d.name}-${hash}" has timed out progressing.`)
      : condition('Progressing', 'True', 'ReplicaSetUpdated', `ReplicaSet "${d.name}-${hash}" is progressing.`);
  const available = ready >= d.replicas ? condition('Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.') : condition('Available', 'False', 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.');
  const same = (a: Record<string, unknown> | undefined, b: Record<string, unknown>) => a && a.status === b.status && a.reason === b.reason;
  const prior = d.conditions;
  d.conditions = [same(prior[0], available) ? prior[0]! : available, same(prior[1], progressing) ? prior[1]! : progressing];
  if (JSON.stringify(toObject(d).status) !== before) {
    d.resourceVersion = state.nextVersion();
    notify(state, d, 'MODIFIED');
  }
}

/** A write of the Deployment's spec, as the API server stores it (generation bumped when the spec changed). */
export function applyTemplate(state: State, d: Deployment, spec: { template?: Template; replicas?: number; progressDeadlineSeconds?: number }) {
  const changed = spec.template && JSON.stringify(spec.template.spec) !== JSON.stringify(d.template.spec);
  if (spec.template) d.template = { ...spec.template, metadata: { ...spec.template.metadata, creationTimestamp: null } };
  if (spec.replicas !== undefined && spec.replicas !== d.replicas) {
    d.replicas = spec.replicas;
    d.generation++;
  }
  if (spec.progressDeadlineSeconds !== undefined && spec.progressDeadlineSeconds !== d.progressDeadlineSeconds) {
    d.progressDeadlineSeconds = spec.progressDeadlineSeconds;
    d.generation++;
  }
  if (changed) {
    d.generation++;
    d.lastProgress = Date.now();
    // A template seen before is a rollback: its ReplicaSet is scaled up again, as the controller does.
  }
  d.resourceVersion = state.nextVersion();
  notify(state, d, 'MODIFIED');
}
