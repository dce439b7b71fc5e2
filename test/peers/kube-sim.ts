import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';

/**
 * A SIMULATION of the parts of the Kubernetes API the deploy kind uses — not a Kubernetes. No API
 * server can be installed on the machines these tests run on, so the real @kubernetes/client-node is
 * pointed at this loopback HTTPS server (its own CA, as a cluster's; bearer-token auth), which follows the documented shapes of apps/v1 Deployments
 * (get, create, replace, JSON merge patch, list and watch with bookmarks), their ReplicaSets, core/v1 Pods and
 * Services, and answers errors as the API server does (a `Status` body; 401, 403, 404, 409 on a stale
 * resourceVersion, 415 for a patch type it does not speak).
 *
 * A controller loop stands in for the Deployment controller, one step per tick: a new template gets a
 * ReplicaSet, which surges one pod at a time (maxSurge 1, maxUnavailable 0); a pod of a good image
 * becomes ready on the next tick, one of a `bad` image never does, so the Progressing condition turns
 * to ProgressDeadlineExceeded after spec.progressDeadlineSeconds without progress; old ReplicaSets are
 * scaled down as new pods become ready. Status changes bump resourceVersion, as on a real cluster.
 * `appUrl(ns, name)` (plain HTTP, another port) is the workload: 200 while no ready pod runs an `unhealthy` image, else 500.
 */

type Container = { name: string; image: string; env?: Array<{ name: string; value?: string }> };
type Template = { metadata?: { labels?: Record<string, string>; creationTimestamp?: string | null }; spec: { containers: Container[] } };
type ReplicaSet = { hash: string; template: Template; replicas: number; ready: number; created: number };
type Deployment = {
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
};
type Service = { namespace: string; name: string; selector: Record<string, string>; resourceVersion: string; port: number };

export type KubeSimOptions = { tickMs?: number; token?: string; badImage?: (image: string) => boolean; unhealthyImage?: (image: string) => boolean; erroringImage?: (image: string) => boolean };

export async function startKubeSim(opts: KubeSimOptions = {}) {
  const tickMs = opts.tickMs ?? 100;
  const token = opts.token ?? `sim-${crypto.randomUUID()}`;
  const bad = opts.badImage ?? ((image: string) => image.includes(':bad'));
  const unhealthy = opts.unhealthyImage ?? ((image: string) => image.includes(':unhealthy'));
  const erroring = opts.erroringImage ?? ((image: string) => image.includes(':erroring'));
  const namespaces = new Set<string>(['default']);
  const forbidden = new Set<string>();
  const deployments = new Map<string, Deployment>();
  const services = new Map<string, Service>();
  const watchers = new Set<{ ns: string; name?: string; res: http.ServerResponse; bookmarks: boolean }>();
  let watchesStarted = 0;
  const requests: Array<{ method: string; path: string }> = [];
  let version = 1000;
  let conflictsToInject = 0;
  const nextVersion = () => String(++version);
  const key = (ns: string, name: string) => `${ns}/${name}`;
  const hashOf = (t: Template) => createHash('sha256').update(JSON.stringify(t.spec)).digest('hex').slice(0, 10);

  function status(code: number, reason: string, message: string) {
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
  }

  function toObject(d: Deployment) {
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

  function notify(d: Deployment, type: 'ADDED' | 'MODIFIED') {
    for (const w of watchers) if (w.ns === d.namespace && (!w.name || w.name === d.name)) w.res.write(`${JSON.stringify({ type, object: toObject(d) })}\n`);
  }

  function condition(type: string, statusValue: 'True' | 'False', reason: string, message: string) {
    const now = new Date().toISOString();
    return { type, status: statusValue, reason, message, lastUpdateTime: now, lastTransitionTime: now };
  }

  /** One step of the simulated Deployment controller. */
  function reconcile(d: Deployment) {
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
      d.resourceVersion = nextVersion();
      notify(d, 'MODIFIED');
    }
  }

  const timer = setInterval(() => deployments.forEach(reconcile), tickMs);

  function applyTemplate(d: Deployment, spec: { template?: Template; replicas?: number; progressDeadlineSeconds?: number }) {
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
    d.resourceVersion = nextVersion();
    notify(d, 'MODIFIED');
  }

  function mergePatch(target: unknown, patch: unknown): unknown {
    if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
    const out: Record<string, unknown> = target && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
    for (const [k, v] of Object.entries(patch)) {
      if (v === null) delete out[k];
      else out[k] = mergePatch(out[k], v);
    }
    return out;
  }

  async function bodyOf(req: http.IncomingMessage): Promise<unknown> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
  }

  const tls = selfSignedCertificate();
  const server = https.createServer({ cert: tls.cert, key: tls.key }, async (req, res) => {
    const url = new URL(req.url!, 'http://sim');
    const path = url.pathname;
    requests.push({ method: req.method!, path });
    const send = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const fail = (code: number, reason: string, message: string) => send(code, status(code, reason, message));

    if (req.headers.authorization !== `Bearer ${token}`) return fail(401, 'Unauthorized', 'Unauthorized');

    const m = /^\/(?:apis\/apps\/v1|api\/v1)\/namespaces\/([^/]+)\/(deployments|replicasets|pods|services)(?:\/([^/]+))?$/.exec(path);
    if (!m) return fail(404, 'NotFound', `the server could not find the requested resource (${req.method} ${path})`);
    const [, ns, resource, name] = m as unknown as [string, string, string, string | undefined];
    const group = resource === 'deployments' || resource === 'replicasets' ? 'apps' : '';
    const verb = req.method === 'GET' ? (name ? 'get' : url.searchParams.get('watch') === 'true' ? 'watch' : 'list') : req.method === 'PUT' ? 'update' : req.method === 'PATCH' ? 'patch' : 'unknown';
    if (forbidden.has(ns)) {
      return fail(403, 'Forbidden', `${resource}${group ? `.${group}` : ''}${name ? ` "${name}"` : ''} is forbidden: User "system:serviceaccount:ci:deployer" cannot ${verb} resource "${resource}" in API group "${group}" in the namespace "${ns}"`);
    }
    if (!namespaces.has(ns)) return fail(404, 'NotFound', `namespaces "${ns}" not found`);

    if (resource === 'deployments') {
      if (!name && req.method === 'POST') {
        const body = (await bodyOf(req)) as { metadata?: { name?: string; labels?: Record<string, string> }; spec?: { replicas?: number; selector?: { matchLabels?: Record<string, string> }; template?: Template; progressDeadlineSeconds?: number } };
        const created = body.metadata?.name;
        if (!created || !body.spec?.template || !body.spec.selector?.matchLabels) return fail(422, 'Invalid', 'metadata.name, spec.selector.matchLabels and spec.template are required');
        if (deployments.has(key(ns, created))) return fail(409, 'AlreadyExists', `deployments.apps "${created}" already exists`);
        const template = { ...body.spec.template, metadata: { ...body.spec.template.metadata, creationTimestamp: null } };
        const d: Deployment = {
          namespace: ns,
          name: created,
          uid: crypto.randomUUID(),
          generation: 1,
          observedGeneration: 0,
          resourceVersion: nextVersion(),
          replicas: body.spec.replicas ?? 1,
          progressDeadlineSeconds: body.spec.progressDeadlineSeconds ?? 600,
          selector: body.spec.selector.matchLabels,
          template,
          sets: [],
          lastProgress: Date.now(),
          conditions: [],
          annotations: {},
        };
        deployments.set(key(ns, created), d);
        notify(d, 'ADDED');
        return send(201, toObject(d));
      }
      if (!name) {
        const items = [...deployments.values()].filter((d) => d.namespace === ns).map(toObject);
        if (verb !== 'watch') return send(200, { apiVersion: 'apps/v1', kind: 'DeploymentList', metadata: { resourceVersion: String(version) }, items });
        // fieldSelector: only metadata.name=… (what a client following one Deployment sends).
        const field = /^metadata\.name=(.+)$/.exec(url.searchParams.get('fieldSelector') ?? '');
        if (url.searchParams.get('fieldSelector') && !field) return fail(400, 'BadRequest', `the simulation selects only by metadata.name, not ${url.searchParams.get('fieldSelector')}`);
        const only = field?.[1];
        const since = url.searchParams.get('resourceVersion');
        res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
        // From a resourceVersion: only what changed after it (the simulation keeps no history, so a
        // change is sent as the object's current state); without one: every object as ADDED first.
        for (const item of items) {
          if (only && item.metadata.name !== only) continue;
          if (!since) res.write(`${JSON.stringify({ type: 'ADDED', object: item })}\n`);
          else if (Number(item.metadata.resourceVersion) > Number(since)) res.write(`${JSON.stringify({ type: 'MODIFIED', object: item })}\n`);
        }
        const watcher = { ns, name: only, res, bookmarks: url.searchParams.get('allowWatchBookmarks') === 'true' };
        watchers.add(watcher);
        watchesStarted++;
        const bookmark = setInterval(() => {
          if (watcher.bookmarks) res.write(`${JSON.stringify({ type: 'BOOKMARK', object: { kind: 'Deployment', apiVersion: 'apps/v1', metadata: { resourceVersion: String(version) } } })}\n`);
        }, 5 * tickMs);
        // timeoutSeconds: the server ends the watch, as the API server does; the client starts another.
        const seconds = Number(url.searchParams.get('timeoutSeconds') ?? 0);
        const ending = seconds > 0 ? setTimeout(() => res.end(), seconds * 1000) : undefined;
        req.on('close', () => (clearInterval(bookmark), clearTimeout(ending), watchers.delete(watcher)));
        return;
      }
      const d = deployments.get(key(ns, name));
      if (!d) return fail(404, 'NotFound', `deployments.apps "${name}" not found`);
      if (req.method === 'GET') return send(200, toObject(d));
      if (req.method === 'PUT') {
        const body = (await bodyOf(req)) as { metadata?: { resourceVersion?: string }; spec?: { template?: Template; replicas?: number; progressDeadlineSeconds?: number } };
        if (conflictsToInject > 0 || body.metadata?.resourceVersion !== d.resourceVersion) {
          if (conflictsToInject > 0) {
            conflictsToInject--;
            d.resourceVersion = nextVersion(); // someone else wrote in between
          }
          return fail(409, 'Conflict', `Operation cannot be fulfilled on deployments.apps "${name}": the object has been modified; please apply your changes to the latest version and try again`);
        }
        applyTemplate(d, body.spec ?? {});
        return send(200, toObject(d));
      }
      if (req.method === 'PATCH') {
        if (req.headers['content-type'] !== 'application/merge-patch+json') return fail(415, 'UnsupportedMediaType', `the simulation speaks only application/merge-patch+json, not ${req.headers['content-type']}`);
        const patched = mergePatch(toObject(d), await bodyOf(req)) as ReturnType<typeof toObject>;
        applyTemplate(d, patched.spec as never);
        return send(200, toObject(d));
      }
      return fail(405, 'MethodNotAllowed', `${req.method} is not supported here`);
    }
    if (resource === 'replicasets' || resource === 'pods') {
      const owned = [...deployments.values()].filter((d) => d.namespace === ns);
      if (resource === 'replicasets') {
        const items = owned.flatMap((d) =>
          d.sets.map((s) => ({
            apiVersion: 'apps/v1',
            kind: 'ReplicaSet',
            metadata: { name: `${d.name}-${s.hash}`, namespace: ns, labels: { ...d.selector, 'pod-template-hash': s.hash }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: d.name, uid: d.uid, controller: true }] },
            spec: { replicas: s.replicas, template: s.template },
            status: { replicas: s.replicas, readyReplicas: s.ready, availableReplicas: s.ready },
          })),
        );
        return send(200, { apiVersion: 'apps/v1', kind: 'ReplicaSetList', metadata: { resourceVersion: String(version) }, items });
      }
      const items = owned.flatMap((d) =>
        d.sets.flatMap((s) =>
          Array.from({ length: s.replicas }, (_, i) => ({
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: { name: `${d.name}-${s.hash}-${i}`, namespace: ns, labels: { ...d.selector, 'pod-template-hash': s.hash } },
            spec: s.template.spec,
            status: { phase: i < s.ready ? 'Running' : 'Pending', conditions: [{ type: 'Ready', status: i < s.ready ? 'True' : 'False' }] },
          })),
        ),
      );
      return send(200, { apiVersion: 'v1', kind: 'PodList', metadata: { resourceVersion: String(version) }, items });
    }
    // services
    if (!name) return send(200, { apiVersion: 'v1', kind: 'ServiceList', items: [...services.values()].filter((s) => s.namespace === ns).map(serviceObject) });
    const svc = services.get(key(ns, name));
    if (!svc) return fail(404, 'NotFound', `services "${name}" not found`);
    if (req.method === 'GET') return send(200, serviceObject(svc));
    if (req.method === 'PUT') {
      const body = (await bodyOf(req)) as { metadata?: { resourceVersion?: string }; spec?: { selector?: Record<string, string> } };
      if (body.metadata?.resourceVersion !== svc.resourceVersion) return fail(409, 'Conflict', `Operation cannot be fulfilled on services "${name}": the object has been modified; please apply your changes to the latest version and try again`);
      svc.selector = body.spec?.selector ?? svc.selector;
      svc.resourceVersion = nextVersion();
      return send(200, serviceObject(svc));
    }
    return fail(405, 'MethodNotAllowed', `${req.method} is not supported here`);
  });

  const serviceObject = (s: Service) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: s.name, namespace: s.namespace, resourceVersion: s.resourceVersion },
    spec: { selector: s.selector, ports: [{ port: s.port, protocol: 'TCP' }] },
  });

  /** The simulated workload itself, over plain HTTP like a Service behind an ingress. */
  const appServer = http.createServer((req, res) => {
    const pathname = new URL(req.url!, 'http://sim').pathname;
    if (pathname === '/metrics') {
      // What the workload's own exporter would say: the share of its requests failing, from the
      // ready pods of each Deployment (an `erroring` image fails every request it serves).
      const lines = ['# HELP sim_http_error_ratio Share of requests answered 5xx.', '# TYPE sim_http_error_ratio gauge'];
      for (const d of deployments.values()) {
        const ready = d.sets.reduce((n, s) => n + s.ready, 0);
        const failing = d.sets.filter((s) => s.template.spec.containers.some((c) => erroring(c.image))).reduce((n, s) => n + s.ready, 0);
        lines.push(`sim_http_error_ratio{namespace="${d.namespace}",deployment="${d.name}"} ${ready ? failing / ready : 0}`);
      }
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(`${lines.join('\n')}\n`);
      return;
    }
    const svc = /^\/sim\/svc\/([^/]+)\/([^/]+)$/.exec(pathname);
    if (svc) {
      // A Service: ready pods whose labels match its selector, as kube-proxy would route.
      const selector = services.get(key(svc[1]!, svc[2]!))?.selector ?? {};
      const pods = [...deployments.values()]
        .filter((x) => x.namespace === svc[1])
        .flatMap((x) => x.sets.filter((set) => set.ready > 0 && Object.entries(selector).every(([k, v]) => set.template.metadata?.labels?.[k] === v)));
      const images = pods.flatMap((set) => set.template.spec.containers.map((c) => c.image));
      res.writeHead(pods.length ? 200 : 503).end(images.join(',') || 'no endpoints');
      return;
    }
    const app = /^\/sim\/app\/([^/]+)\/([^/]+)$/.exec(pathname);
    const d = app ? deployments.get(key(app[1]!, app[2]!)) : undefined;
    const serving = d?.sets.filter((s) => s.ready > 0) ?? [];
    const sick = serving.some((s) => s.template.spec.containers.some((c) => unhealthy(c.image)));
    res.writeHead(d && serving.length && !sick ? 200 : 500).end(sick ? 'unhealthy' : d ? 'ok' : 'no such app');
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  await new Promise<void>((resolve) => appServer.listen(0, '127.0.0.1', resolve));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const appBase = `http://127.0.0.1:${(appServer.address() as AddressInfo).port}`;

  return {
    url,
    token,
    /** The CA certificate the server's certificate is (self-)signed with: the integration's caCert. */
    caCert: tls.cert,
    requests,
    /** A Deployment already rolled out (all replicas ready on `images`). */
    addDeployment(ns: string, name: string, spec: { images: Record<string, string>; replicas?: number; progressDeadlineSeconds?: number; env?: Record<string, Record<string, string>> }) {
      namespaces.add(ns);
      const selector = { app: name };
      const template: Template = {
        metadata: { labels: selector, creationTimestamp: null },
        spec: { containers: Object.entries(spec.images).map(([c, image]) => ({ name: c, image, ...(spec.env?.[c] ? { env: Object.entries(spec.env[c]!).map(([n, value]) => ({ name: n, value })) } : {}) })) },
      };
      const replicas = spec.replicas ?? 3;
      const d: Deployment = {
        namespace: ns,
        name,
        uid: crypto.randomUUID(),
        generation: 1,
        observedGeneration: 1,
        resourceVersion: nextVersion(),
        replicas,
        progressDeadlineSeconds: spec.progressDeadlineSeconds ?? 600,
        selector,
        template,
        sets: [{ hash: hashOf(template), template: structuredClone(template), replicas, ready: replicas, created: Date.now() }],
        lastProgress: Date.now(),
        conditions: [],
        annotations: {},
      };
      deployments.set(key(ns, name), d);
      reconcile(d);
    },
    addService(ns: string, name: string, selector: Record<string, string>, port = 80) {
      namespaces.add(ns);
      services.set(key(ns, name), { namespace: ns, name, selector, port, resourceVersion: nextVersion() });
    },
    /** The Deployment as the API shows it. */
    deployment: (ns: string, name: string) => {
      const d = deployments.get(key(ns, name));
      return d ? toObject(d) : undefined;
    },
    /** The images of each ReplicaSet with pods, for asserting what actually runs. */
    running: (ns: string, name: string) => deployments.get(key(ns, name))?.sets.filter((s) => s.replicas > 0).map((s) => ({ images: s.template.spec.containers.map((c) => c.image), replicas: s.replicas, ready: s.ready })) ?? [],
    forbid: (ns: string) => void (namespaces.add(ns), forbidden.add(ns)),
    /** How many watches clients have opened (a follower watches instead of polling). */
    watches: () => watchesStarted,
    /** The next `n` writes of a Deployment are refused with 409, as when another client wrote first. */
    injectConflicts: (n: number) => void (conflictsToInject = n),
    appUrl: (ns: string, name: string) => `${appBase}/sim/app/${ns}/${name}`,
    /** The Service's address: answers with the images of the ready pods its selector matches. */
    serviceUrl: (ns: string, name: string) => `${appBase}/sim/svc/${ns}/${name}`,
    serviceSelector: (ns: string, name: string) => services.get(key(ns, name))?.selector,
    /** The workload's Prometheus exposition: `sim_http_error_ratio{namespace,deployment}`. */
    metricsUrl: `${appBase}/metrics`,
    async stop() {
      clearInterval(timer);
      for (const w of watchers) w.res.end();
      server.closeAllConnections();
      appServer.closeAllConnections();
      await Promise.all([new Promise((resolve) => server.close(resolve)), new Promise((resolve) => appServer.close(resolve))]);
    },
  };
}
export type KubeSim = Awaited<ReturnType<typeof startKubeSim>>;

/** A throwaway certificate for 127.0.0.1 from openssl, as a cluster CA would issue for its API server. */
function selfSignedCertificate() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kube-sim-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=kube-sim',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'pipe' });
    return { cert: readFileSync(path.join(dir, 'cert.pem'), 'utf8'), key: readFileSync(path.join(dir, 'key.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
