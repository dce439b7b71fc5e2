import type http from 'node:http';
import { key, type State } from './model.ts';

/**
 * The simulated workload itself, over plain HTTP like a Service behind an ingress: `/sim/app/<ns>/<name>`
 * (200 while no ready pod runs an `unhealthy` image), `/sim/svc/<ns>/<name>` (the ready pods a
 * Service's selector matches) and `/metrics` (its exporter, scraped by a real Prometheus in tests).
 */
export function workloadHandler(state: State, unhealthy: (image: string) => boolean, erroring: (image: string) => boolean) {
  const { deployments, services } = state;
  return (req: http.IncomingMessage, res: http.ServerResponse) => {
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
        // A pod carries its template's labels and its ReplicaSet's pod-template-hash.
        .flatMap((x) => x.sets.filter((set) => set.ready > 0 && Object.entries(selector).every(([k, v]) => ({ ...set.template.metadata?.labels, 'pod-template-hash': set.hash })[k] === v)));
      const images = pods.flatMap((set) => set.template.spec.containers.map((c) => c.image));
      res.writeHead(pods.length ? 200 : 503).end(images.join(',') || 'no endpoints');
      return;
    }
    const app = /^\/sim\/app\/([^/]+)\/([^/]+)$/.exec(pathname);
    const d = app ? deployments.get(key(app[1]!, app[2]!)) : undefined;
    const serving = d?.sets.filter((s) => s.ready > 0) ?? [];
    const sick = serving.some((s) => s.template.spec.containers.some((c) => unhealthy(c.image)));
    res.writeHead(d && serving.length && !sick ? 200 : 500).end(sick ? 'unhealthy' : d ? 'ok' : 'no such app');
};
}
