import { expect, it } from '@jest/globals';
import { loadConfig } from '../../core/config.ts';
import { keyringFromConfig } from '../../core/secrets/keyring.ts';
import { initOrm } from '../../db/orm.ts';
import { storeIntegration } from '../fixtures/deploy-integrations.ts';
import { until } from '../fixtures/until.ts';
import { startKubeSim } from '../peers/kube-sim.ts';
import { stopProcess } from '../workers/worker-process.ts';
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
    for (let round = 0; round < rounds(2, 10); round++) {
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
