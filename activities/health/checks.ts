import { connect as tcpConnect } from 'node:net';
import { lookup } from 'node:dns/promises';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { rootCertificates, type TLSSocket } from 'node:tls';
import type { AppsV1Api } from '@kubernetes/client-node';
import type Docker from 'dockerode';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { HealthCheck } from '../../contracts/kinds/health-scan.ts';

/** What one probe saw: whether the check passes, how long it took, and a sentence for a person. */
export type Probe = { ok: boolean; latencyMs: number; detail: string; certDaysLeft?: number };

/** Clients for the team's docker and kubernetes integrations a check names (loaded with their secrets). */
export type PlatformClients = {
  docker(integrationId: string): Promise<Docker>;
  kubernetes(integrationId: string): Promise<{ apps: AppsV1Api; namespace: string }>;
};

/** A promise that gives up after `ms`: the Docker and Kubernetes clients take no timeout per call. */
const within = <T>(ms: number, work: Promise<T>): Promise<T> =>
  Promise.race([work, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref())]);
const statusOf = (err: unknown) => (err as { statusCode?: number; code?: number }).statusCode ?? (err as { code?: number }).code;

const DAY_MS = 86_400_000;
const BODY_LIMIT = 256 * 1024;

const failed = (started: number, err: unknown): Probe => ({ ok: false, latencyMs: Math.round(performance.now() - started), detail: (err as Error).message || String(err) });

/** GET with Node's own client: status, latency, an optional text in the body, and (https) the verified chain's expiry. */
async function probeHttp(c: Extract<HealthCheck, { type: 'http' }>, signal: AbortSignal): Promise<Probe> {
  const started = performance.now();
  const url = new URL(c.url);
  const get = url.protocol === 'https:' ? httpsRequest : httpRequest;
  try {
    const { res, body, certValidTo } = await new Promise<{ res: IncomingMessage; body: string; certValidTo?: string }>((resolve, reject) => {
      const tls = url.protocol === 'https:' && c.ca ? { ca: [...rootCertificates, c.ca] } : {};
      // agent: false: a fresh connection and a full handshake each time. A pooled socket or a resumed TLS
      // session would show no certificate, and a probe must see the one the server presents now.
      const req = get(url, { method: 'GET', agent: false, timeout: c.timeoutMs, signal, headers: { 'user-agent': 'OpsSight health-scan' }, ...tls }, (res) => {
        const cert = url.protocol === 'https:' ? (res.socket as TLSSocket).getPeerCertificate?.() : undefined;
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (body.length < BODY_LIMIT) body += chunk;
        });
        res.on('end', () => resolve({ res, body, ...(cert?.valid_to ? { certValidTo: cert.valid_to } : {}) }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${c.timeoutMs} ms`)));
      req.on('error', reject);
      req.end();
    });
    const latencyMs = Math.round(performance.now() - started);
    const certDaysLeft = certValidTo ? Math.floor((Date.parse(certValidTo) - Date.now()) / DAY_MS) : undefined;
    const problems = [
      url.protocol === 'https:' && certDaysLeft === undefined && 'the server presented no certificate this probe could read',
      res.statusCode !== c.expectStatus && `status ${res.statusCode}, expected ${c.expectStatus}`,
      c.bodyMatch !== undefined && !body.includes(c.bodyMatch) && `the body does not contain "${c.bodyMatch}"`,
      c.maxLatencyMs !== undefined && latencyMs > c.maxLatencyMs && `answered in ${latencyMs} ms, more than ${c.maxLatencyMs} ms`,
      certDaysLeft !== undefined && certDaysLeft < c.certMinDays && `the certificate expires in ${certDaysLeft} day(s) (${certValidTo}), within ${c.certMinDays}`,
    ].filter((p): p is string => typeof p === 'string');
    const seen = `status ${res.statusCode} in ${latencyMs} ms${certDaysLeft !== undefined ? `, certificate valid ${certDaysLeft} more day(s)` : ''}`;
    return { ok: problems.length === 0, latencyMs, detail: problems.length ? problems.join('; ') : seen, ...(certDaysLeft !== undefined ? { certDaysLeft } : {}) };
  } catch (err) {
    return failed(started, err);
  }
}

async function probeTcp(c: { host: string; port: number; timeoutMs: number }, signal: AbortSignal): Promise<Probe> {
  const started = performance.now();
  try {
    await new Promise<void>((resolve, reject) => {
      const socket = tcpConnect({ host: c.host.replace(/^\[|\]$/g, ''), port: c.port, timeout: c.timeoutMs, signal });
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('timeout', () => socket.destroy(new Error(`no connection within ${c.timeoutMs} ms`)));
      socket.once('error', reject);
    });
    return { ok: true, latencyMs: Math.round(performance.now() - started), detail: `${c.host}:${c.port} accepts connections` };
  } catch (err) {
    return failed(started, err);
  }
}

async function probeDns(c: Extract<HealthCheck, { type: 'dns' }>): Promise<Probe> {
  const started = performance.now();
  try {
    const answers = await Promise.race([
      lookup(c.hostname, { all: true }),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${c.timeoutMs} ms`)), c.timeoutMs).unref()),
    ]);
    const addresses = answers.map((a) => a.address);
    const ok = c.expect === undefined || addresses.includes(c.expect);
    return { ok, latencyMs: Math.round(performance.now() - started), detail: ok ? `${c.hostname} → ${addresses.join(', ')}` : `${c.hostname} → ${addresses.join(', ')}, expected ${c.expect}` };
  } catch (err) {
    return failed(started, err);
  }
}

/**
 * pg_isready's meaning: the server is up when it answers the startup, even if it refuses this login
 * (no credentials are held for it); down when nothing accepts the connection or it is starting/stopping.
 */
async function probePostgres(c: Extract<HealthCheck, { type: 'postgres' }>): Promise<Probe> {
  const started = performance.now();
  const client = new pg.Client({ host: c.host, port: c.port, database: c.database, user: c.user, connectionTimeoutMillis: c.timeoutMs, password: '' });
  try {
    await client.connect();
    await client.query('select 1');
    return { ok: true, latencyMs: Math.round(performance.now() - started), detail: 'accepting connections' };
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    // 57P03: cannot connect now (starting up, shutting down): not ready.
    if (/^(28|3D)/.test(code)) return { ok: true, latencyMs: Math.round(performance.now() - started), detail: `accepting connections (login refused: ${(err as Error).message})` };
    return failed(started, err);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** PING; a server that wants a password (NOAUTH) is up. */
async function probeRedis(c: Extract<HealthCheck, { type: 'redis' }>): Promise<Probe> {
  const started = performance.now();
  const redis = new Redis({ host: c.host, port: c.port, connectTimeout: c.timeoutMs, commandTimeout: c.timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true, enableOfflineQueue: false });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    const pong = await redis.ping();
    return { ok: pong === 'PONG', latencyMs: Math.round(performance.now() - started), detail: `PING → ${pong}` };
  } catch (err) {
    if (/NOAUTH/.test((err as Error).message)) return { ok: true, latencyMs: Math.round(performance.now() - started), detail: 'answering (authentication required)' };
    return failed(started, err);
  } finally {
    redis.disconnect();
  }
}

/** Up while the container runs, and (when its image has a HEALTHCHECK) Docker calls it healthy. */
async function probeDocker(c: Extract<HealthCheck, { type: 'docker' }>, clients: PlatformClients): Promise<Probe> {
  const started = performance.now();
  const took = () => Math.round(performance.now() - started);
  try {
    const info = await within(c.timeoutMs, clients.docker(c.integration).then((d) => d.getContainer(c.container).inspect()));
    const health = (info.State as { Health?: { Status?: string } }).Health?.Status;
    if (!info.State.Running) return { ok: false, latencyMs: took(), detail: `container ${c.container} is ${info.State.Status} (exit code ${info.State.ExitCode})` };
    if (health && health !== 'healthy') return { ok: false, latencyMs: took(), detail: `container ${c.container} runs, its HEALTHCHECK says ${health}` };
    return { ok: true, latencyMs: took(), detail: `container ${c.container} runs ${info.Config.Image}${health ? ', healthy' : ''}` };
  } catch (err) {
    if (statusOf(err) === 404) return { ok: false, latencyMs: took(), detail: `no container ${c.container} on the Docker host` };
    return failed(started, err);
  }
}

/** Up while the Deployment has at least `minAvailable` (by default all its) replicas available. */
async function probeKubernetes(c: Extract<HealthCheck, { type: 'kubernetes' }>, clients: PlatformClients): Promise<Probe> {
  const started = performance.now();
  const took = () => Math.round(performance.now() - started);
  const kube = await clients.kubernetes(c.integration).catch((err: unknown) => err as Error);
  if (kube instanceof Error) return failed(started, kube);
  const namespace = c.namespace ?? kube.namespace;
  try {
    const d = await within(c.timeoutMs, kube.apps.readNamespacedDeployment({ name: c.deployment, namespace }));
    const wanted = d.spec?.replicas ?? 1;
    const need = c.minAvailable ?? wanted;
    const available = d.status?.availableReplicas ?? 0;
    const seen = `${namespace}/${c.deployment}: ${available} of ${wanted} replicas available`;
    return available >= need ? { ok: true, latencyMs: took(), detail: seen } : { ok: false, latencyMs: took(), detail: `${seen}, needs ${need}` };
  } catch (err) {
    if (statusOf(err) === 404) return { ok: false, latencyMs: took(), detail: `no Deployment ${namespace}/${c.deployment}` };
    if (statusOf(err) === 403) return { ok: false, latencyMs: took(), detail: `reading Deployment ${namespace}/${c.deployment} is forbidden by the cluster's RBAC` };
    return failed(started, err);
  }
}

export function probe(check: HealthCheck, signal: AbortSignal, clients: PlatformClients): Promise<Probe> {
  switch (check.type) {
    case 'http':
      return probeHttp(check, signal);
    case 'tcp':
      return probeTcp(check, signal);
    case 'dns':
      return probeDns(check);
    case 'postgres':
      return probePostgres(check);
    case 'redis':
      return probeRedis(check);
    case 'docker':
      return probeDocker(check, clients);
    case 'kubernetes':
      return probeKubernetes(check, clients);
  }
}
