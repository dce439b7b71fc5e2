import type { AppsV1Api, CoreV1Api, Watch } from '@kubernetes/client-node';
import Docker from 'dockerode';
import type { DockerSecrets, DockerSettings } from '../contracts/integrations/docker.ts';
import type { KubernetesSecrets, KubernetesSettings } from '../contracts/integrations/kubernetes.ts';

/**
 * Clients for the docker and kubernetes integrations, shared by deploys and health checks. The
 * Kubernetes library (about 55 MB of a worker's memory) loads on first use, so a worker that never
 * talks to a cluster (one serving only alert escalations, say) never carries it.
 */

/** A dockerode client for a docker integration: its unix socket, or its TCP address (with TLS client certificates). */
export function dockerFor(settings: DockerSettings, secrets: DockerSecrets): Docker {
  if (settings.endpoint.startsWith('unix://')) return new Docker({ socketPath: settings.endpoint.slice('unix://'.length) });
  const url = new URL(settings.endpoint.replace(/^tcp:/, 'http:'));
  return new Docker({
    host: url.hostname,
    port: Number(url.port),
    protocol: settings.tls ? 'https' : 'http',
    ...(settings.tls ? { ca: settings.caCert, cert: secrets.clientCert, key: secrets.clientKey } : {}),
  });
}

/**
 * The apps/v1 and core/v1 clients for a kubernetes integration, built as a one-context kubeconfig (nothing read from
 * disk or the environment). The library refuses http:// unless TLS checks are off; the schema allows
 * http:// only on loopback (kubectl proxy), where there is no TLS to check.
 */
export async function kubernetesFor(settings: KubernetesSettings, secrets: KubernetesSecrets): Promise<{ apps: AppsV1Api; core: CoreV1Api; watch: Watch }> {
  const { AppsV1Api, CoreV1Api, KubeConfig, Watch } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  const b64 = (pem: string | undefined) => (pem ? Buffer.from(pem).toString('base64') : undefined);
  kc.loadFromOptions({
    clusters: [{ name: 'cluster', server: settings.server.replace(/\/$/, ''), caData: b64(settings.caCert), skipTLSVerify: settings.server.startsWith('http://') }],
    users: [{ name: 'user', token: secrets.token, certData: b64(secrets.clientCert), keyData: b64(secrets.clientKey) }],
    contexts: [{ name: settings.context, cluster: 'cluster', user: 'user', namespace: settings.namespace }],
    currentContext: settings.context,
  });
  return { apps: kc.makeApiClient(AppsV1Api), core: kc.makeApiClient(CoreV1Api), watch: new Watch(kc) };
}
