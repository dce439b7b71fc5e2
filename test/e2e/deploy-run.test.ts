import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type Docker from 'dockerode';
import { client, tokenFor } from '../fixtures/http.ts';
import { loadLoop } from '../fixtures/deploy-integrations.ts';
import { until } from '../fixtures/until.ts';
import { createTeam, createUser } from '../fixtures/users.ts';
import { startKubeSim, type KubeSim } from '../peers/kube-sim.ts';
import { startPrometheus } from '../peers/prometheus.ts';
import { buildTestImages, dockerClient, podmanSocket, removeContainers, runService, TEST_IMAGE } from '../peers/podman.ts';
import { startApi, type TestApi } from '../peers/stack.ts';
import { freePorts, ownNamespace } from '../peers/temporal.ts';
import { startTestWorker, type TestWorker } from '../peers/worker.ts';

// Deploy runs through the API and a real worker: Kubernetes against the API simulation
// (test/peers/kube-sim.ts) with the real client library, Docker against podman's Docker API.
let api: TestApi;
let worker: TestWorker;
let sim: KubeSim;
let team: { id: string; slug: string };
let admin: string;
let operator: string;
let cluster: string;

type Run = { id: string; status: string; error: string | null; summary: Record<string, unknown> | null; step: string | null };
const getRun = async (id: string): Promise<Run> => (await client(api, operator).get(`/api/v1/runs/${id}`)).body;
const events = async (id: string): Promise<Array<{ type: string; message: string; data?: Record<string, unknown> }>> =>
  (await client(api, operator).get(`/api/v1/runs/${id}/events?limit=5000`)).body.events;
const ended = (id: string) =>
  until(`run ${id} to end`, async () => {
    const run = await getRun(id);
    return ['succeeded', 'failed', 'cancelled', 'discarded', 'timed_out'].includes(run.status) ? run : undefined;
  }, 90_000, 100);

async function start(params: Record<string, unknown>): Promise<string> {
  const res = await client(api, operator).post('/api/v1/runs', { kind: 'deploy', team: team.slug, params });
  expect(res.status).toBe(201);
  return res.body.id;
}
async function integration(type: string, settings: Record<string, unknown>, secrets: Record<string, unknown>) {
  const res = await client(api, admin).post('/api/v1/integrations', { team: team.slug, type, name: `${type}-${crypto.randomUUID().slice(0, 6)}`, settings, secrets });
  expect(res.status).toBe(201);
  return res.body.id as string;
}
function deployment(tag = 'v1', replicas = 3) {
  const name = `web-${crypto.randomUUID().slice(0, 6)}`;
  sim.addDeployment('shop', name, { images: { app: `registry.test/web:${tag}` }, replicas });
  return name;
}
const k8s = (name: string, image: string, extra: Record<string, unknown> = {}) => ({
  target: { platform: 'kubernetes', integration: cluster, deployment: name, images: { app: image }, progressDeadlineSeconds: 2, ...extra },
});

beforeAll(async () => {
  sim = await startKubeSim({ tickMs: 50 });
  // Its own namespace: on the shared one, another file's worker (or runs another file left) takes its tasks.
  const namespace = await ownNamespace('deploy-run');
  api = await startApi({ TEMPORAL_NAMESPACE: namespace });
  worker = await startTestWorker({ TEMPORAL_NAMESPACE: namespace });
  team = await createTeam(api.deps.db.em);
  admin = await tokenFor(api, (await createUser(api.deps.db.em, { teams: [team], role: 'admin' })).id);
  operator = await tokenFor(api, (await createUser(api.deps.db.em, { teams: [team], role: 'operator' })).id);
  cluster = await integration('kubernetes', { server: sim.url, namespace: 'shop', caCert: sim.caCert }, { token: sim.token });
});
afterAll(async () => {
  await worker?.shutdown();
  await api?.close();
  await sim?.stop();
});

describe('a Kubernetes deploy run', () => {
  it('shows the diff first, rolls out, verifies and succeeds', async () => {
    const name = deployment();
    const id = await start({ ...k8s(name, 'registry.test/web:v2'), verification: { checks: [{ url: sim.appUrl('shop', name) }], durationSeconds: 1, intervalSeconds: 0.2 } });
    const run = await ended(id);
    expect(run).toMatchObject({ status: 'succeeded', error: null });
    expect(run.summary).toMatchObject({ platform: 'kubernetes', previous: { app: 'registry.test/web:v1' }, live: { app: 'registry.test/web:v2' } });
    const log = await events(id);
    const diff = log.findIndex((e) => e.message === 'diff: app image: registry.test/web:v1 → registry.test/web:v2');
    const firstProgress = log.findIndex((e) => e.type === 'metric');
    expect(diff).toBeGreaterThan(-1);
    expect(firstProgress).toBeGreaterThan(diff);
    expect(log.filter((e) => e.type === 'metric').at(-1)?.data).toMatchObject({ progress: { replicas: 3, updated: 3, ready: 3, available: 3 } });
    expect(sim.running('shop', name)).toEqual([{ images: ['registry.test/web:v2'], replicas: 3, ready: 3 }]);
  });

  it('rolls back by itself when the new pods never become ready (ProgressDeadlineExceeded)', async () => {
    const name = deployment();
    const run = await ended(await start(k8s(name, 'registry.test/web:bad')));
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/ProgressDeadlineExceeded.*; rolled back to image registry\.test\/web:v1$/);
    expect(run.summary).toMatchObject({ live: { app: 'registry.test/web:v1' }, rolledBack: { to: { app: 'registry.test/web:v1' } } });
    expect((await events(run.id)).some((e) => /^rolling back: rollout of shop\//.test(e.message))).toBe(true);
    expect(sim.running('shop', name)).toEqual([{ images: ['registry.test/web:v1'], replicas: 3, ready: 3 }]);
  });

  it('rolls back when verification fails after a complete rollout', async () => {
    const name = deployment();
    const run = await ended(await start({ ...k8s(name, 'registry.test/web:unhealthy'), verification: { checks: [{ url: sim.appUrl('shop', name) }], durationSeconds: 5, intervalSeconds: 0.2 } }));
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/^verification failed in round 1: .* answered 500 \(expected 200\); rolled back to image registry\.test\/web:v1$/);
    expect(sim.running('shop', name)).toEqual([{ images: ['registry.test/web:v1'], replicas: 3, ready: 3 }]);
  });

  it('rolls back when cancelled mid-rollout', async () => {
    const name = deployment('v1', 4);
    const id = await start(k8s(name, 'registry.test/web:bad', { progressDeadlineSeconds: 600 }));
    await until('the rollout to be under way', async () => ((await events(id)).some((e) => e.type === 'metric' && (e.data as { progress: { updated: number } }).progress.updated > 0) ? true : undefined), 30_000, 100);
    expect((await client(api, operator).post(`/api/v1/runs/${id}/cancel`, {})).status).toBe(202);
    const run = await ended(id);
    expect(run.status).toBe('cancelled');
    expect((await events(id)).map((e) => e.message)).toContain('cancelled; rolled back to image registry.test/web:v1');
    expect(sim.running('shop', name)).toEqual([{ images: ['registry.test/web:v1'], replicas: 4, ready: 4 }]);
  });

  it('rolls a succeeded deploy back on demand, as a new deploy run linked to it', async () => {
    const name = deployment();
    const first = await ended(await start(k8s(name, 'registry.test/web:v2')));
    expect(first.status).toBe('succeeded');
    const res = await client(api, operator).post(`/api/v1/runs/${first.id}/rollback`, {});
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`/api/v1/runs/${res.body.id}`);
    const back = await ended(res.body.id);
    expect(back).toMatchObject({ status: 'succeeded', summary: { previous: { app: 'registry.test/web:v2' }, live: { app: 'registry.test/web:v1' } } });
    expect((await client(api, operator).get(`/api/v1/runs/${back.id}`)).body.params).toMatchObject({ rollbackOf: first.id, target: { images: { app: 'registry.test/web:v1' } } });
    expect((await events(first.id)).some((e) => e.message.startsWith(`rollback to registry.test/web:v1 started as run ${back.id}`))).toBe(true);
    expect((await events(back.id))[0]?.message).toMatch(new RegExp(`\\(re-run of ${first.id}\\)$`));
    expect(sim.running('shop', name)).toEqual([{ images: ['registry.test/web:v1'], replicas: 3, ready: 3 }]);

    // The target's history: newest first, each run with what it found and what it left live.
    const history = await client(api, operator).get(`/api/v1/runs?${new URLSearchParams({ kind: 'deploy', target: `kubernetes:${cluster}/shop/${name}` })}`);
    expect(history.status).toBe(200);
    expect(history.body.runs.map((r: Run & { params: { rollbackOf?: string } }) => [r.id, r.summary?.previous, r.summary?.live, r.params.rollbackOf])).toEqual([
      [back.id, { app: 'registry.test/web:v2' }, { app: 'registry.test/web:v1' }, first.id],
      [first.id, { app: 'registry.test/web:v1' }, { app: 'registry.test/web:v2' }, undefined],
    ]);

    // Only a succeeded deploy can be rolled back.
    const failed = await ended(await start(k8s(deployment(), 'registry.test/web:bad')));
    const refused = await client(api, operator).post(`/api/v1/runs/${failed.id}/rollback`, {});
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toBe('only a succeeded deploy can be rolled back; this one is failed');
    expect((await client(api, operator).post(`/api/v1/runs/${crypto.randomUUID()}/rollback`, {})).status).toBe(404);
  });

  it('is one target whether the run names the integration\'s default namespace or leaves it out', async () => {
    const name = deployment();
    // Held in approval, so the first run is still active when the second asks.
    const first = await client(api, operator).post('/api/v1/runs', { kind: 'deploy', team: team.slug, params: { ...k8s(name, 'registry.test/web:v2'), requireApproval: true } });
    expect(first.status).toBe(201);
    expect(first.body.target).toBe(`kubernetes:${cluster}/shop/${name}`);
    const named = await client(api, operator).post('/api/v1/runs', { kind: 'deploy', team: team.slug, params: k8s(name, 'registry.test/web:v3', { namespace: 'shop' }) });
    expect([named.status, named.body.detail]).toEqual([409, `kubernetes:${cluster}/shop/${name} already has an active deploy run (${first.body.id})`]);
    expect((await client(api, operator).post(`/api/v1/runs/${first.body.id}/cancel`, {})).status).toBe(202);
    await ended(first.body.id);
  });

  it('asks for approval before a rollback when the team requires it, and not when it does not', async () => {
    const deployed = async () => {
      const name = deployment();
      return { name, run: await ended(await start(k8s(name, 'registry.test/web:v2'))) };
    };
    const rollback = async (id: string) => (await client(api, operator).post(`/api/v1/runs/${id}/rollback`, {})).body.id as string;
    const setting = (rollbackApproval: boolean) => client(api, admin).patch(`/api/v1/teams/${team.slug}/settings`, { deploy: { rollbackApproval } });

    // Off (the default): the rollback goes straight through.
    const a = await deployed();
    const direct = await ended(await rollback(a.run.id));
    expect(direct).toMatchObject({ status: 'succeeded', summary: { live: { app: 'registry.test/web:v1' } } });
    expect((await client(api, operator).get(`/api/v1/runs/${direct.id}`)).body.params.requireApproval).toBe(false);

    const b = await deployed();
    expect((await setting(true)).body.deploy).toEqual({ rollbackApproval: true });
    try {
      const waiting = await rollback(b.run.id);
      const seen = await until('the rollback to wait for approval', async () => {
        const run = await getRun(waiting);
        return run.status === 'awaiting_approval' ? run : undefined;
      }, 30_000, 100);
      expect(seen.summary).toMatchObject({ changes: [{ container: 'app', field: 'image', from: 'registry.test/web:v2', to: 'registry.test/web:v1' }] });
      // Nothing changes while it waits; the approval (by someone else: four-eyes) lets it run.
      expect(sim.deployment('shop', b.name)!.spec.template.spec.containers[0]!.image).toBe('registry.test/web:v2');
      expect((await client(api, admin).post(`/api/v1/runs/${waiting}/approve`, {})).status).toBe(200);
      expect(await ended(waiting)).toMatchObject({ status: 'succeeded', summary: { live: { app: 'registry.test/web:v1' } } });
    } finally {
      await setting(false);
    }
  });

  it('blue-green: verifies the new Deployment before switching the Service, switches back on demand, and never switches to a failing one', async () => {
    const base = deployment('v1', 2);
    sim.addService('shop', base, { app: base });
    const params = (image: string) => ({
      ...k8s(base, image, { strategy: 'blue-green', service: base }),
      verification: { checks: [{ url: sim.appUrl('shop', '{deployment}') }], durationSeconds: 1, intervalSeconds: 0.2 },
    });
    const serves = async () => (await fetch(sim.serviceUrl('shop', base)).then((r) => r.text())).split(',');

    const first = await ended(await start(params('registry.test/web:v2')));
    expect(first).toMatchObject({ status: 'succeeded', summary: { live: { app: 'registry.test/web:v2' }, previous: { app: 'registry.test/web:v1' } } });
    expect(sim.serviceSelector('shop', base)).toEqual({ app: base, 'opssight.io/slot': 'blue' });
    expect(new Set(await serves())).toEqual(new Set(['registry.test/web:v2']));
    // The old Deployment is kept running for the switch back.
    expect(sim.running('shop', base)).toEqual([{ images: ['registry.test/web:v1'], replicas: 2, ready: 2 }]);
    expect(sim.running('shop', `${base}-blue`)).toEqual([{ images: ['registry.test/web:v2'], replicas: 2, ready: 2 }]);

    // Verification fails on the new slot: the Service never points at it.
    const sick = await ended(await start(params('registry.test/web:unhealthy')));
    expect(sick.status).toBe('failed');
    expect(sick.error).toMatch(/^verification failed in round 1: .*web-\w+-green answered 500 \(expected 200\); rolled back to image registry\.test\/web:v2$/);
    expect(sim.serviceSelector('shop', base)).toEqual({ app: base, 'opssight.io/slot': 'blue' });
    expect(new Set(await serves())).toEqual(new Set(['registry.test/web:v2']));
    // The rollback scaled the green Deployment to 0; its controller takes the pods down on its own time.
    await until('the green Deployment to scale down', async () => (sim.running('shop', `${base}-green`).length === 0 ? true : undefined), 10_000, 50);

    // Switch back: the rollback of the first run deploys v1 to the other slot and switches to it.
    const res = await client(api, operator).post(`/api/v1/runs/${first.id}/rollback`, {});
    expect(res.status).toBe(201);
    expect(await ended(res.body.id)).toMatchObject({ status: 'succeeded', summary: { live: { app: 'registry.test/web:v1' } } });
    expect(sim.serviceSelector('shop', base)).toEqual({ app: base, 'opssight.io/slot': 'green' });
    expect(new Set(await serves())).toEqual(new Set(['registry.test/web:v1']));
  });

  // The first blue-green run starts from a Service whose selector (no slot yet) the new pods match too.
  it('blue-green: the first run gives the new version no traffic before it is verified, and none after it failed', async () => {
    const base = deployment('v1', 2);
    sim.addService('shop', base, { app: base });
    const load = loadLoop(() => sim.serviceUrl('shop', base));
    const sick = await ended(await start({
      ...k8s(base, 'registry.test/web:unhealthy', { strategy: 'blue-green', service: base }),
      verification: { checks: [{ url: sim.appUrl('shop', '{deployment}') }], durationSeconds: 1, intervalSeconds: 0.2 },
    }));
    const seen = await load.stop();
    expect(sick.status).toBe('failed');
    expect(sick.error).toMatch(/^verification failed in round 1: .*-blue answered 500/);
    expect(seen.failures).toEqual([]);
    // Every answer the Service gave while the run went on came from v1 pods alone.
    expect([...seen.answers].flatMap((a) => a.split(',')).filter((image) => image !== 'registry.test/web:v1')).toEqual([]);
    expect(sim.serviceSelector('shop', base)).toEqual({ app: base });
  });

  it('refuses bad params with a 400 naming the field, and starts nothing', async () => {
    const res = await client(api, operator).post('/api/v1/runs', { kind: 'deploy', team: team.slug, params: { target: { platform: 'kubernetes', integration: cluster, deployment: 'Not_A_Name' } } });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { field: string }) => e.field)).toContain('params.target.deployment');
    const noService = await client(api, operator).post('/api/v1/runs', { kind: 'deploy', team: team.slug, params: k8s('web', 'registry.test/web:v2', { strategy: 'blue-green' }) });
    expect(noService.status).toBe(400);
    expect(noService.body.errors).toEqual([{ field: 'params.target.service', message: 'blue-green needs the Service to switch' }]);
  });
});

describe('a Kubernetes deploy verified by a Prometheus query', () => {
  let prometheus: Awaited<ReturnType<typeof startPrometheus>>;
  beforeAll(async () => {
    // A real Prometheus scraping the simulated workload's exporter (sim_http_error_ratio per Deployment).
    prometheus = await startPrometheus(sim.metricsUrl);
  });
  afterAll(async () => {
    await prometheus?.stop();
  });
  // Over a range, not an instant: on a saturated machine a scrape can miss its 200 ms timeout, which
  // marks the series stale, and an instant query then reads "no data" (a failure by design).
  const query = 'max(max_over_time(sim_http_error_ratio{namespace="shop",deployment="{deployment}"}[5s]))';
  const verification = (threshold = 0.05) => ({
    prometheus: { url: prometheus.url, query, threshold },
    durationSeconds: 2,
    intervalSeconds: 0.2,
  });

  // A Deployment that has been running a while has been scraped; one created a moment ago may not
  // be, and its first verification round would read "no data" (a failure by design).
  async function scrapedDeployment() {
    const name = deployment();
    await prometheus.scraped(query.replace('{deployment}', name));
    return name;
  }

  it('succeeds while the query stays under the threshold', async () => {
    const name = await scrapedDeployment();
    const run = await ended(await start({ ...k8s(name, 'registry.test/web:v2'), verification: verification() }));
    expect(run).toMatchObject({ status: 'succeeded', summary: { live: { app: 'registry.test/web:v2' } } });
    expect((await events(run.id)).some((e) => /^verification round \d+: the Prometheus query passed$/.test(e.message))).toBe(true);
  });

  it('rolls back when the metric goes above the threshold during the verification window', async () => {
    const name = await scrapedDeployment();
    const run = await ended(await start({ ...k8s(name, 'registry.test/web:erroring'), verification: verification() }));
    expect(run.status).toBe('failed');
    // The scrape may land while the rollout still mixes pods (2 of 3 erroring reads 0.67): any figure over the threshold.
    const asked = query.replace('{deployment}', name).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const failedWith = new RegExp(`^verification failed in round \\d+: Prometheus query ${asked} returned ([\\d.]+), not under 0\\.05; rolled back to image registry\\.test/web:v1$`).exec(run.error ?? '');
    expect(failedWith).not.toBeNull();
    expect(Number(failedWith![1])).toBeGreaterThan(0.05);
    expect(sim.running('shop', name)).toEqual([{ images: ['registry.test/web:v1'], replicas: 3, ready: 3 }]);
  });

  it('fails before anything changes when Prometheus cannot parse the query', async () => {
    const name = deployment();
    const before = sim.deployment('shop', name)!.metadata.resourceVersion;
    const run = await ended(await start({ ...k8s(name, 'registry.test/web:v2'), verification: { ...verification(), prometheus: { ...verification().prometheus, query: 'sum(' } } }));
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/^the verification's Prometheus query sum\( was refused \(bad_data\): /);
    expect((await events(run.id)).some((e) => e.message.startsWith('rolling back'))).toBe(false);
    expect(sim.deployment('shop', name)!.spec.template.spec.containers[0]!.image).toBe('registry.test/web:v1');
    expect(sim.deployment('shop', name)!.metadata.resourceVersion).toBe(before);
  });
});

const socket = podmanSocket();
(socket ? describe : describe.skip)('a Docker deploy run', () => {
  let docker: Docker;
  let host: string;
  const prefix = `de-${crypto.randomUUID().slice(0, 6)}`;
  beforeAll(async () => {
    buildTestImages();
    docker = dockerClient(socket!);
    host = await integration('docker', { endpoint: `unix://${socket}` }, {});
  });
  afterAll(async () => {
    if (docker) await removeContainers(docker, prefix);
  });

  it('swaps the container when healthy, and keeps the old one serving when the new one is not', async () => {
    const name = `${prefix}-svc`;
    const slots = await freePorts(2);
    await runService(docker, { name, tag: 'v1', port: slots[0]! });
    await until('v1 to serve', () => fetch(`http://127.0.0.1:${slots[0]}/`).then((r) => (r.ok ? true : undefined), () => undefined));
    const target = (tag: string) => ({
      target: { platform: 'docker', integration: host, container: name, image: `${TEST_IMAGE}:${tag}`, env: { VERSION: tag }, pull: 'never', ports: { env: 'PORT', slots }, health: { url: 'http://127.0.0.1:{port}/healthz', timeoutSeconds: 2 }, stopTimeoutSeconds: 1 },
    });

    const load = loadLoop(() => `http://127.0.0.1:${slots[0]}/`);
    const sick = await ended(await start(target('sick')));
    const during = await load.stop();
    expect(sick.status).toBe('failed');
    expect(sick.error).toMatch(/did not become healthy within 2s.*; nothing was switched: .*:v1 kept serving$/);
    expect(during.failures).toEqual([]);

    const good = await ended(await start({ ...target('v2'), verification: { checks: [{ url: `http://127.0.0.1:${slots[1]}/` }], durationSeconds: 1, intervalSeconds: 0.2 } }));
    expect(good).toMatchObject({ status: 'succeeded', summary: { platform: 'docker', previous: { [name]: `${TEST_IMAGE}:v1` }, live: { [name]: `${TEST_IMAGE}:v2` } } });
    expect(await fetch(`http://127.0.0.1:${slots[1]}/`).then((r) => r.text())).toBe('v2\n');
    // The container got VERSION=v2 (it serves it, above); the API shows which variables were set, not their values.
    const shown = await client(api, operator).get(`/api/v1/runs/${good.id}`);
    expect(shown.body.params.target.env).toEqual({ VERSION: '(hidden)' });
    const listed = await client(api, operator).get(`/api/v1/runs?team=${team.slug}&kind=deploy&limit=100`);
    expect(listed.body.runs.find((r: { id: string }) => r.id === good.id).params.target.env).toEqual({ VERSION: '(hidden)' });
  });
});
