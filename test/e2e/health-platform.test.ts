import { afterAll, beforeAll, expect, it } from '@jest/globals';
import type { CheckResult } from '../../contracts/kinds/health-scan.ts';
import { client, tokenFor } from '../fixtures/http.ts';
import { until } from '../fixtures/until.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { startKubeSim, type KubeSim } from '../peers/kube-sim.ts';
import { buildTestImages, dockerClient, podmanSocket, removeContainers, runService } from '../peers/podman.ts';
import { startApi, type TestApi } from '../peers/stack.ts';
import { freePorts, ownNamespace } from '../peers/temporal.ts';
import { startTestWorker, type TestWorker } from '../peers/worker.ts';

// Health checks of what the deploy integrations reach: containers on a Docker host (podman's Docker
// API) and Deployments in a cluster (the API simulation), through a health-scan run started by the API.
let api: TestApi;
let worker: TestWorker;
let sim: KubeSim;
let team: { id: string; slug: string };
let admin: string;
let operator: string;
const socket = podmanSocket();
const prefix = `hp-${crypto.randomUUID().slice(0, 6)}`;

beforeAll(async () => {
  sim = await startKubeSim({ tickMs: 50 });
  const isolated = { TEMPORAL_NAMESPACE: await ownNamespace('health-platform') };
  api = await startApi(isolated);
  worker = await startTestWorker(isolated, { taskQueues: ['scans'] });
  team = await createTeam(api.deps.db.em);
  admin = await tokenFor(api, (await createUser(api.deps.db.em, { teams: [team], role: 'admin' })).id);
  operator = await tokenFor(api, (await createUser(api.deps.db.em, { teams: [team], role: 'operator' })).id);
});
afterAll(async () => {
  await worker?.shutdown();
  await api?.close();
  await sim?.stop();
  if (socket) await removeContainers(dockerClient(socket), prefix);
});

async function integration(type: string, settings: Record<string, unknown>, secrets: Record<string, unknown>) {
  const res = await client(api, admin).post('/api/v1/integrations', { team: team.slug, type, name: `${type}-${crypto.randomUUID().slice(0, 6)}`, settings, secrets });
  expect(res.status).toBe(201);
  return res.body.id as string;
}
/** The scan's checks by name; a scan with a check down ends failed, naming them. */
async function scan(checks: Record<string, unknown>): Promise<{ error: string | null; result: Record<string, CheckResult> }> {
  const res = await client(api, operator).post('/api/v1/runs', { kind: 'health-scan', team: team.slug, params: { monitor: `${prefix}-${crypto.randomUUID().slice(0, 4)}`, checks, failuresBeforeDown: 1 } });
  expect(res.status).toBe(201);
  const run = await until('the scan to end', async () => {
    const r = (await client(api, operator).get(`/api/v1/runs/${res.body.id}`)).body;
    return ['succeeded', 'failed'].includes(r.status) ? (r as { error: string | null; summary: { checks: CheckResult[] } }) : undefined;
  }, 60_000, 100);
  return { error: run.error, result: Object.fromEntries(run.summary.checks.map((c) => [c.name, c])) };
}

it('a Deployment is up while enough replicas are available, down naming what is missing', async () => {
  const cluster = await integration('kubernetes', { server: sim.url, namespace: 'shop', caCert: sim.caCert }, { token: sim.token });
  const name = `web-${crypto.randomUUID().slice(0, 6)}`;
  sim.addDeployment('shop', name, { images: { app: 'registry.test/web:v1' }, replicas: 3 });
  const { error, result } = await scan({
    web: { type: 'kubernetes', integration: cluster, deployment: name },
    'web-five': { type: 'kubernetes', integration: cluster, deployment: name, minAvailable: 5 },
    gone: { type: 'kubernetes', integration: cluster, namespace: 'shop', deployment: 'no-such-app' },
  });
  expect(result.web).toMatchObject({ ok: true, status: 'up', detail: `shop/${name}: 3 of 3 replicas available` });
  expect(result['web-five']).toMatchObject({ ok: false, status: 'down', detail: `shop/${name}: 3 of 3 replicas available, needs 5` });
  expect(result.gone).toMatchObject({ ok: false, status: 'down', detail: 'no Deployment shop/no-such-app' });
  expect(error).toBe('2 of 3 checks down: web-five, gone');
});

it('a check naming an integration of another team, or none, is refused before anything runs', async () => {
  const res = await client(api, operator).post('/api/v1/runs', { kind: 'health-scan', team: team.slug, params: { monitor: 'x', checks: { c: { type: 'docker', integration: crypto.randomUUID(), container: 'web' } } } });
  expect(res.status).toBe(400);
  expect(res.body.errors).toEqual([expect.objectContaining({ field: 'params' })]);
});

(socket ? it : it.skip)('a container is up while it runs, down when it stopped or is not there', async () => {
  buildTestImages();
  const docker = dockerClient(socket!);
  const host = await integration('docker', { endpoint: `unix://${socket}` }, {});
  const [running, stopped] = [`${prefix}-running`, `${prefix}-stopped`];
  const [runningPort, stoppedPort] = (await freePorts(2)) as [number, number];
  await runService(docker, { name: running, tag: 'v1', port: runningPort });
  await (await runService(docker, { name: stopped, tag: 'v1', port: stoppedPort })).stop({ t: 0 });
  const { error, result } = await scan({
    running: { type: 'docker', integration: host, container: running },
    stopped: { type: 'docker', integration: host, container: stopped },
    missing: { type: 'docker', integration: host, container: `${prefix}-missing` },
  });
  expect(result.running).toMatchObject({ ok: true, status: 'up', detail: `container ${running} runs localhost/opssight-test-http:v1` });
  expect(result.stopped).toMatchObject({ ok: false, status: 'down', detail: expect.stringMatching(new RegExp(`^container ${stopped} is exited \\(exit code \\d+\\)$`)) });
  expect(result.missing).toMatchObject({ ok: false, status: 'down', detail: `no container ${prefix}-missing on the Docker host` });
  expect(error).toBe('2 of 3 checks down: stopped, missing');
});
