import type http from 'node:http';
import { applyTemplate } from './controller.ts';
import { key, notify, serviceObject, status, toObject, type Deployment, type State, type Template } from './model.ts';

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

/** The API server's request handler: apps/v1 Deployments (and their ReplicaSets), core/v1 Pods and Services. */
export function apiHandler(state: State, token: string, tickMs: number) {
  const { requests, forbidden, namespaces, deployments, services, watchers } = state;
  return async (req: http.IncomingMessage, res: http.ServerResponse) => {
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
          resourceVersion: state.nextVersion(),
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
        notify(state, d, 'ADDED');
        return send(201, toObject(d));
      }
      if (!name) {
        const items = [...deployments.values()].filter((d) => d.namespace === ns).map(toObject);
        if (verb !== 'watch') return send(200, { apiVersion: 'apps/v1', kind: 'DeploymentList', metadata: { resourceVersion: String(state.version) }, items });
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
        state.watchesStarted++;
        const bookmark = setInterval(() => {
          if (watcher.bookmarks) res.write(`${JSON.stringify({ type: 'BOOKMARK', object: { kind: 'Deployment', apiVersion: 'apps/v1', metadata: { resourceVersion: String(state.version) } } })}\n`);
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
        if (state.conflictsToInject > 0 || body.metadata?.resourceVersion !== d.resourceVersion) {
          if (state.conflictsToInject > 0) {
            state.conflictsToInject--;
            d.resourceVersion = state.nextVersion(); // someone else wrote in between
          }
          return fail(409, 'Conflict', `Operation cannot be fulfilled on deployments.apps "${name}": the object has been modified; please apply your changes to the latest version and try again`);
        }
        applyTemplate(state, d, body.spec ?? {});
        return send(200, toObject(d));
      }
      if (req.method === 'PATCH') {
        if (req.headers['content-type'] !== 'application/merge-patch+json') return fail(415, 'UnsupportedMediaType', `the simulation speaks only application/merge-patch+json, not ${req.headers['content-type']}`);
        const patched = mergePatch(toObject(d), await bodyOf(req)) as ReturnType<typeof toObject>;
        applyTemplate(state, d, patched.spec as never);
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
        return send(200, { apiVersion: 'apps/v1', kind: 'ReplicaSetList', metadata: { resourceVersion: String(state.version) }, items });
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
      return send(200, { apiVersion: 'v1', kind: 'PodList', metadata: { resourceVersion: String(state.version) }, items });
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
      svc.resourceVersion = state.nextVersion();
      return send(200, serviceObject(svc));
    }
    return fail(405, 'MethodNotAllowed', `${req.method} is not supported here`);
  };
}
