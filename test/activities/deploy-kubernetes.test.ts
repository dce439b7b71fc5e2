import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AppsV1Api, KubeConfig } from '@kubernetes/client-node';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createDeployActivities } from '../../activities/deploy/index.ts';
import { DEPLOY_FAILED, deployParamsSchema, type DeployPlan } from '../../contracts/kinds/deploy.ts';
import { keyringFromConfig } from '../../core/secrets/keyring.ts';
import { storeIntegration } from '../fixtures/deploy-integrations.ts';
import { freePort } from '../peers/temporal.ts';
import { createRunWithTeam } from '../fixtures/runs.ts';
import { until } from '../fixtures/until.ts';
import { peerContext } from '../peers/context.ts';
import { startKubeSim, type KubeSim } from '../peers/kube-sim.ts';

// The Kubernetes target through the real @kubernetes/client-node, against the API simulation in
// test/peers/kube-sim.ts (no API server can be installed here).
let ctx: Awaited<ReturnType<typeof peerContext>>;
let sim: KubeSim;
let activities: ReturnType<typeof createDeployActivities>;

beforeAll(async () => {
  ctx = await peerContext();
  sim = await startKubeSim({ tickMs: 50 });
  activities = createDeployActivities({ em: ctx.db.em, events: ctx.events, keyring: keyringFromConfig(ctx.config), databaseUrl: ctx.config.DATABASE_URL, pollMs: 50 });
});
afterAll(async () => {
  await sim?.stop();
  await ctx?.close();
});

const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
const call = <I, O>(fn: (input: I) => Promise<O>, input: I): Promise<O> =>
  new MockActivityEnvironment({ attempt: 1, heartbeatTimeoutMs: 10_000 }, { logger: quiet }).run(fn, input) as Promise<O>;

async function setup(target: Record<string, unknown>, opts: { token?: string; server?: string; replicas?: number } = {}) {
  const run = await createRunWithTeam(ctx.db.em, 'deploy');
  const integration = await storeIntegration(ctx.db.em, keyringFromConfig(ctx.config), run.teamId, 'kubernetes', { server: opts.server ?? sim.url, namespace: 'shop', caCert: sim.caCert }, { token: opts.token ?? sim.token });
  const name = `web-${crypto.randomUUID().slice(0, 6)}`;
  sim.addDeployment('shop', name, { images: { app: 'registry.test/web:v1', sidecar: 'registry.test/proxy:1' }, replicas: opts.replicas ?? 3, env: { app: { MODE: 'a' } } });
  const params = deployParamsSchema.parse({ target: { platform: 'kubernetes', integration, deployment: name, images: { app: 'registry.test/web:v2' }, progressDeadlineSeconds: 2, ...target } });
  return { ...run, params, name };
}

describe('deploy to a Kubernetes Deployment', () => {
  it('records the template, shows the diff, rolls out step by step and restores the template on rollback', async () => {
    const s = await setup({ env: { app: { MODE: 'b', NEW: 'x' } } });
    const plan: DeployPlan = await call(activities.deployPlan, s);
    expect(plan.changes).toEqual([
      { container: 'app', field: 'image', from: 'registry.test/web:v1', to: 'registry.test/web:v2' },
      { container: 'app', field: 'env.MODE', from: '(set)', to: '(changed)' },
      { container: 'app', field: 'env.NEW', from: null, to: '(set)' },
    ]);
    expect(plan.rollbackPoint).toMatchObject({ platform: 'kubernetes', namespace: 'shop', deployment: s.name, images: { app: 'registry.test/web:v1', sidecar: 'registry.test/proxy:1' } });

    const result = await call(activities.deployRollout, { ...s, plan });
    expect(result).toEqual({ live: { app: 'registry.test/web:v2', sidecar: 'registry.test/proxy:1' } });
    expect(sim.running('shop', s.name)).toEqual([{ images: ['registry.test/web:v2', 'registry.test/proxy:1'], replicas: 3, ready: 3 }]);
    // Progress went up and was recorded as metric events. A slow machine may start the watch after the
    // first replica: what was seen only rises, ends at 3 and holds at least one step on the way.
    const progress = (await ctx.events.list(s.runId, 0, 500)).filter((e) => e.type === 'metric').map((e) => (e.data as { progress: { updated: number } }).progress.updated);
    expect(progress.at(-1)).toBe(3);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(new Set(progress).size).toBeGreaterThanOrEqual(2);

    // A retried rollout step (worker died after writing) writes nothing more.
    const writes = () => sim.requests.filter((r) => r.method === 'PUT' && r.path.endsWith(`/${s.name}`)).length;
    const before = writes();
    await call(activities.deployRollout, { ...s, plan });
    expect(writes()).toBe(before);

    const back = await call(activities.deployRollback, { ...s, plan });
    expect(back).toEqual({ live: { app: 'registry.test/web:v1', sidecar: 'registry.test/proxy:1' }, changed: true });
    expect(sim.deployment('shop', s.name)!.spec.template.spec.containers[0]).toMatchObject({ image: 'registry.test/web:v1', env: [{ name: 'MODE', value: 'a' }] });
    expect(sim.running('shop', s.name)).toEqual([{ images: ['registry.test/web:v1', 'registry.test/proxy:1'], replicas: 3, ready: 3 }]);
  });

  it('blue-green: a rollback after the switch scaled the old Deployment down brings it back before the Service points at it', async () => {
    const s = await setup({ keepOldReplicas: 0 }, { replicas: 2 });
    sim.addService('shop', s.name, { app: s.name });
    const params = deployParamsSchema.parse({ target: { ...s.params.target, strategy: 'blue-green', service: s.name } });
    const step = { ...s, params };
    const plan: DeployPlan = await call(activities.deployPlan, step);
    await call(activities.deployRollout, { ...step, plan });
    await call(activities.deploySwitch, { ...step, plan });
    expect(sim.deployment('shop', s.name)!.spec.replicas).toBe(0);

    const back = await call(activities.deployRollback, { ...step, plan });
    expect(back).toMatchObject({ changed: true });
    expect(sim.serviceSelector('shop', s.name)).toEqual({ app: s.name });
    // Serving again, at the replicas it had, before the Service was pointed back.
    expect(sim.running('shop', s.name)).toEqual([{ images: ['registry.test/web:v1', 'registry.test/proxy:1'], replicas: 2, ready: 2 }]);
  });

  it('fails a rollout whose pods never become ready with ProgressDeadlineExceeded, while the old pods keep serving', async () => {
    const s = await setup({ images: { app: 'registry.test/web:bad' } });
    const plan = await call(activities.deployPlan, s);
    const err = await call(activities.deployRollout, { ...s, plan }).catch((e: unknown) => e);
    expect(err).toMatchObject({ type: DEPLOY_FAILED });
    expect((err as Error).message).toMatch(/made no progress within its deadline \(ProgressDeadlineExceeded\)/);
    expect(sim.running('shop', s.name)).toContainEqual({ images: ['registry.test/web:v1', 'registry.test/proxy:1'], replicas: 3, ready: 3 });
    await call(activities.deployRollback, { ...s, plan });
    expect(sim.running('shop', s.name)).toEqual([{ images: ['registry.test/web:v1', 'registry.test/proxy:1'], replicas: 3, ready: 3 }]);
  });

  it('follows the rollout through a watch of the Deployment, not by reading it over and over', async () => {
    const s = await setup({}, { replicas: 4 });
    const plan = await call(activities.deployPlan, s);
    const reads = () => sim.requests.filter((r) => r.method === 'GET' && r.path.endsWith(`/deployments/${s.name}`)).length;
    const [readsBefore, watchesBefore] = [reads(), sim.watches()];
    await call(activities.deployRollout, { ...s, plan });
    expect(sim.running('shop', s.name)).toEqual([{ images: ['registry.test/web:v2', 'registry.test/proxy:1'], replicas: 4, ready: 4 }]);
    // One read for the write, one before the watch: a 4-replica rollout takes ~16 controller steps.
    expect(reads() - readsBefore).toBeLessThanOrEqual(3);
    expect(sim.watches() - watchesBefore).toBeGreaterThanOrEqual(1);
    // Every change the watch delivered was recorded: several steps on the way to 4.
    const progress = (await ctx.events.list(s.runId, 0, 500)).filter((e) => e.type === 'metric').map((e) => (e.data as { progress: { updated: number } }).progress.updated);
    expect(progress.at(-1)).toBe(4);
    expect(new Set(progress).size).toBeGreaterThanOrEqual(3);
  });

  it('does not count a rollout done while a pod\'s readiness flaps, and finishes once it holds', async () => {
    const s = await setup({}, { replicas: 2 });
    const plan = await call(activities.deployPlan, s);
    sim.flap('shop', s.name, true);
    let settled = false;
    const rollout = call(activities.deployRollout, { ...s, plan }).finally(() => (settled = true));
    // Should a wait below fail, the rollout still ends (against a closed simulation) after this test:
    // handled here, or its rejection lands in whichever suite this jest worker runs next.
    rollout.catch(() => undefined);
    await until('every replica updated while one keeps flapping', async () => {
      const st = sim.deployment('shop', s.name)!.status;
      return st.updatedReplicas === 2 && st.availableReplicas < 2 ? true : undefined;
    }, 20_000, 20);
    expect(settled).toBe(false);
    sim.flap('shop', s.name, false);
    expect(await rollout).toMatchObject({ live: { app: 'registry.test/web:v2' } });
    expect(sim.running('shop', s.name)).toEqual([{ images: ['registry.test/web:v2', 'registry.test/proxy:1'], replicas: 2, ready: 2 }]);
  });

  // A run that waits for approval holds its diff for a while; someone may change the Deployment meanwhile.
  it('writes nothing over a pod template someone changed since the diff, and says so', async () => {
    const s = await setup({});
    const plan = await call(activities.deployPlan, s);
    // As `kubectl set env deployment/<name> MODE=hotfix` would, through the real client.
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'sim', server: sim.url, caData: Buffer.from(sim.caCert).toString('base64') }],
      users: [{ name: 'someone', token: sim.token }],
      contexts: [{ name: 'sim', cluster: 'sim', user: 'someone' }],
      currentContext: 'sim',
    });
    const kubectl = kc.makeApiClient(AppsV1Api);
    const live = await kubectl.readNamespacedDeployment({ name: s.name, namespace: 'shop' });
    live.spec!.template.spec!.containers[0]!.env = [{ name: 'MODE', value: 'hotfix' }];
    await kubectl.replaceNamespacedDeployment({ name: s.name, namespace: 'shop', body: live });

    const err = await call(activities.deployRollout, { ...s, plan }).catch((e: unknown) => e);
    expect(err).toMatchObject({ type: DEPLOY_FAILED, message: expect.stringContaining('changed since this run read it') });
    const containers = () => sim.deployment('shop', s.name)!.spec.template.spec.containers as Array<{ image: string; env?: unknown }>;
    expect(containers().map((c) => c.image)).toEqual(['registry.test/web:v1', 'registry.test/proxy:1']);
    expect(containers()[0]!.env).toEqual([{ name: 'MODE', value: 'hotfix' }]);
    // Its rollback (the workflow rolls back after a failed rollout) leaves that change alone too.
    expect(await call(activities.deployRollback, { ...s, plan })).toEqual({ live: { app: 'registry.test/web:v1', sidecar: 'registry.test/proxy:1' }, changed: false });
    expect(containers()[0]!.env).toEqual([{ name: 'MODE', value: 'hotfix' }]);
  });

  it('retries a write refused for a stale resourceVersion on a fresh read', async () => {
    const s = await setup({});
    const plan = await call(activities.deployPlan, s);
    sim.injectConflicts(2);
    expect(await call(activities.deployRollout, { ...s, plan })).toMatchObject({ live: { app: 'registry.test/web:v2' } });
  });

  it('turns forbidden, unknown, unauthorised and unreachable into clear run errors', async () => {
    const forbidden = await setup({ namespace: 'payments' });
    sim.forbid('payments');
    await expect(call(activities.deployPlan, forbidden)).rejects.toThrow(/forbidden by the cluster's RBAC while reading deployment payments\/web-\w+: deployments.apps "web-\w+" is forbidden: User "system:serviceaccount:ci:deployer" cannot get resource/);

    const noNamespace = await setup({ namespace: 'no-such-namespace' });
    await expect(call(activities.deployPlan, noNamespace)).rejects.toMatchObject({ type: DEPLOY_FAILED, message: expect.stringMatching(/^not found while reading deployment no-such-namespace\/web-\w+: namespaces "no-such-namespace" not found$/) });

    const unknown = await setup({ deployment: 'no-such-app' });
    await expect(call(activities.deployPlan, unknown)).rejects.toThrow('not found while reading deployment shop/no-such-app: deployments.apps "no-such-app" not found');

    const expired = await setup({}, { token: 'expired-token' });
    await expect(call(activities.deployPlan, expired)).rejects.toMatchObject({ type: DEPLOY_FAILED, message: expect.stringMatching(/refused the integration's credentials \(401/) });

    const away = await setup({}, { server: `https://127.0.0.1:${await freePort()}` });
    await expect(call(activities.deployPlan, away)).rejects.toThrow(/the Kubernetes API server is unreachable \(ECONNREFUSED\)/);

    const noContainer = await setup({ images: { web: 'registry.test/web:v2' } });
    await expect(call(activities.deployPlan, noContainer)).rejects.toThrow(/has no container named web \(it has app, sidecar\)/);
  });
});
