import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { apiHandler } from './kube-sim/api.ts';
import { selfSignedCertificate } from './kube-sim/certificate.ts';
import { reconcile } from './kube-sim/controller.ts';
import { createState, hashOf, key, toObject, type Deployment, type Template } from './kube-sim/model.ts';
import { workloadHandler } from './kube-sim/workload.ts';

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

export type KubeSimOptions = { tickMs?: number; token?: string; badImage?: (image: string) => boolean; unhealthyImage?: (image: string) => boolean; erroringImage?: (image: string) => boolean };

export async function startKubeSim(opts: KubeSimOptions = {}) {
  const tickMs = opts.tickMs ?? 100;
  const token = opts.token ?? `sim-${crypto.randomUUID()}`;
  const bad = opts.badImage ?? ((image: string) => image.includes(':bad'));
  const unhealthy = opts.unhealthyImage ?? ((image: string) => image.includes(':unhealthy'));
  const erroring = opts.erroringImage ?? ((image: string) => image.includes(':erroring'));
  const state = createState();
  const { namespaces, forbidden, deployments, services, watchers, requests } = state;
  const timer = setInterval(() => deployments.forEach((d) => reconcile(state, d, bad)), tickMs);
  const tls = selfSignedCertificate();
  const server = https.createServer({ cert: tls.cert, key: tls.key }, apiHandler(state, token, tickMs));
  const appServer = http.createServer(workloadHandler(state, unhealthy, erroring));

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
        resourceVersion: state.nextVersion(),
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
      reconcile(state, d, bad);
    },
    addService(ns: string, name: string, selector: Record<string, string>, port = 80) {
      namespaces.add(ns);
      services.set(key(ns, name), { namespace: ns, name, selector, port, resourceVersion: state.nextVersion() });
    },
    /** The Deployment as the API shows it. */
    deployment: (ns: string, name: string) => {
      const d = deployments.get(key(ns, name));
      return d ? toObject(d) : undefined;
    },
    /** The images of each ReplicaSet with pods, for asserting what actually runs. */
    running: (ns: string, name: string) => deployments.get(key(ns, name))?.sets.filter((s) => s.replicas > 0).map((s) => ({ images: s.template.spec.containers.map((c) => c.image), replicas: s.replicas, ready: s.ready })) ?? [],
    forbid: (ns: string) => void (namespaces.add(ns), forbidden.add(ns)),
    /** Readiness flaps while on: one pod of the Deployment's current ReplicaSet keeps going unready. */
    flap: (ns: string, name: string, on: boolean) => void (deployments.get(key(ns, name))!.flapping = on),
    /** How many watches clients have opened (a follower watches instead of polling). */
    watches: () => state.watchesStarted,
    /** The next `n` writes of a Deployment are refused with 409, as when another client wrote first. */
    injectConflicts: (n: number) => void (state.conflictsToInject = n),
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
