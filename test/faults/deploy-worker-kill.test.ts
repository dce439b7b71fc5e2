import { afterAll, expect, it } from '@jest/globals';
import { loadConfig } from '../../core/config.ts';
import { keyringFromConfig } from '../../core/secrets/keyring.ts';
import { initOrm } from '../../db/orm.ts';
import { until } from '../fixtures/until.ts';
import { storeIntegration } from '../fixtures/deploy-integrations.ts';
import { freePorts } from '../peers/temporal.ts';
import { startKubeSim } from '../peers/kube-sim.ts';
import { buildTestImages, dockerClient, podmanSocket, removeContainers, runService, TEST_IMAGE } from '../peers/podman.ts';
import { stopProcess } from '../peers/processes.ts';
import { recordFault, rounds } from './report.ts';
import { useFaultStack } from './stack.ts';

// Worker processes are killed with SIGKILL while a Kubernetes rollout is being followed. The run must
// end succeeded on the new workers, with the Deployment written exactly once (no second rollout, no
// rollback) and every replica on the new image.
const stack = useFaultStack({ workers: 0 });

it('worker kill -9 mid-rollout: the run finishes on another worker, the Deployment written once', async () => {
  const sim = await startKubeSim({ tickMs: 250 });
  try {
    const s = stack();
    const orm = await initOrm(s.env.DATABASE_URL!, { poolMax: 1 });
    const keyring = keyringFromConfig(loadConfig({ ...process.env, ...s.env }));
    const cluster = await storeIntegration(orm.em, keyring, s.team.id, 'kubernetes', { server: sim.url, namespace: 'shop', caCert: sim.caCert }, { token: sim.token });
    await orm.close();

    const outcomes: Array<{ runId: string; ok: boolean; why: string }> = [];
    let workers = [await s.worker(), await s.worker()];
    for (let round = 0; round < rounds(1, 10); round++) {
      const name = `web-${crypto.randomUUID().slice(0, 6)}`;
      sim.addDeployment('shop', name, { images: { app: 'registry.test/web:v1' }, replicas: 8 });
      const res = await s.call('POST', '/api/v1/runs', s.token, {
        kind: 'deploy',
        team: s.team.slug,
        params: { target: { platform: 'kubernetes', integration: cluster, deployment: name, images: { app: 'registry.test/web:v2' }, progressDeadlineSeconds: 60 } },
      });
      expect(res.status).toBe(201);
      const runId = res.body.id as string;
      // Mid-rollout: some replicas updated, not all.
      await until('the rollout to be under way', async () => {
        const d = sim.deployment('shop', name)!;
        return d.status.updatedReplicas >= 2 && d.status.updatedReplicas < 8 ? true : undefined;
      }, 60_000, 50);
      for (const w of workers) await stopProcess(w.child, 'SIGKILL');
      workers = [await s.worker(), await s.worker()];

      const final = await s.ended(runId, 120_000);
      const writes = sim.requests.filter((r) => r.method === 'PUT' && r.path.endsWith(`/deployments/${name}`)).length;
      const running = sim.running('shop', name);
      const ok = final.status === 'succeeded' && writes === 1 && running.length === 1 && running[0]!.images[0] === 'registry.test/web:v2' && running[0]!.ready === 8;
      outcomes.push({ runId, ok, why: `${final.status} ${final.error ?? ''} writes=${writes} running=${JSON.stringify(running)}` });
    }
    const passed = outcomes.filter((o) => o.ok).length;
    recordFault({ fault: 'worker kill -9 mid-rollout (deploy)', passed, rounds: outcomes.length, detail: 'run succeeded on the next workers, Deployment written once, all replicas on the new image' });
    expect(outcomes.filter((o) => !o.ok)).toEqual([]);
  } finally {
    await sim.stop();
  }
}, 600_000);

// Worker processes are killed with SIGKILL while the new container is starting beside the live one
// (its health check takes 4 s). The run must end succeeded on the new workers with the new container
// started exactly once (each start reports to the effect counter), the old one stopped and kept as
// `--previous`, nothing else left behind, and the new version answering on its slot.
const socket = podmanSocket();
const prefix = `dk-${crypto.randomUUID().slice(0, 6)}`;
afterAll(async () => {
  if (socket) await removeContainers(dockerClient(socket), prefix);
});

(socket ? it : it.skip)('worker kill -9 mid-swap on a Docker host: the run finishes on another worker, the new container started once', async () => {
  buildTestImages();
  const docker = dockerClient(socket!);
  const s = stack();
  const orm = await initOrm(s.env.DATABASE_URL!, { poolMax: 1 });
  const host = await storeIntegration(orm.em, keyringFromConfig(loadConfig({ ...process.env, ...s.env })), s.team.id, 'docker', { endpoint: `unix://${socket}` });
  await orm.close();

  const outcomes: Array<{ runId: string; ok: boolean; why: string }> = [];
  let workers = [await s.worker(), await s.worker()];
  for (let round = 0; round < rounds(1, 5); round++) {
    const name = `${prefix}-svc${round}`;
    const slots = await freePorts(2);
    await runService(docker, { name, tag: 'v1', port: slots[0]! });
    await until('v1 to serve', () => fetch(`http://127.0.0.1:${slots[0]}/healthz`).then((r) => (r.ok ? true : undefined), () => undefined));
    const tag = `${name}-slow`;
    const res = await s.call('POST', '/api/v1/runs', s.token, {
      kind: 'deploy',
      team: s.team.slug,
      params: {
        target: {
          platform: 'docker', integration: host, container: name, image: `${TEST_IMAGE}:slow`, pull: 'never', stopTimeoutSeconds: 1,
          env: { VERSION: 'slow', EFFECT_URL: `${s.effects.url}/effect/${tag}` }, ports: { env: 'PORT', slots },
          health: { url: 'http://127.0.0.1:{port}/healthz', timeoutSeconds: 60 },
        },
      },
    });
    expect(res.status).toBe(201);
    const runId = res.body.id as string;
    // Mid-swap: the new container has started and is not healthy yet; the live one still serves.
    await until('the new container to start', async () => ((s.effects.counts.get(tag) ?? 0) > 0 ? true : undefined), 60_000, 50);
    for (const w of workers) await stopProcess(w.child, 'SIGKILL');
    workers = [await s.worker(), await s.worker()];

    const final = await s.ended(runId, 120_000);
    const left = (await docker.listContainers({ all: true })).filter((c) => c.Names.some((n) => n.replace(/^\//, '').startsWith(name))).map((c) => `${c.Names[0]!.replace(/^\//, '')} ${c.Image} ${c.State}`).sort();
    const serving = await fetch(`http://127.0.0.1:${slots[1]}/`).then((r) => r.text(), () => '');
    const starts = s.effects.counts.get(tag) ?? 0;
    const expected = [`${name} ${TEST_IMAGE}:slow running`, `${name}--previous ${TEST_IMAGE}:v1 exited`];
    const ok = final.status === 'succeeded' && starts === 1 && serving === 'slow\n' && JSON.stringify(left) === JSON.stringify(expected);
    outcomes.push({ runId, ok, why: `${final.status} ${final.error ?? ''} starts=${starts} serving=${JSON.stringify(serving)} left=${JSON.stringify(left)}` });
  }
  const passed = outcomes.filter((o) => o.ok).length;
  recordFault({ fault: 'worker kill -9 mid-swap (Docker deploy)', passed, rounds: outcomes.length, detail: 'run succeeded on the next workers, the new container started once, the old one kept stopped as --previous' });
  expect(outcomes.filter((o) => !o.ok)).toEqual([]);
}, 600_000);
