import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MockActivityEnvironment } from '@temporalio/testing';
import type Docker from 'dockerode';
import { createDeployActivities } from '../../activities/deploy/index.ts';
import { DEPLOY_FAILED, deployParamsSchema, type DeployPlan } from '../../contracts/kinds/deploy.ts';
import { keyringFromConfig } from '../../core/secrets/keyring.ts';
import { loadLoop, storeIntegration } from '../fixtures/deploy-integrations.ts';
import { freePorts } from '../peers/temporal.ts';
import { createRunWithTeam } from '../fixtures/runs.ts';
import { peerContext } from '../peers/context.ts';
import { buildTestImages, dockerClient, podmanSocket, removeContainers, runService, TEST_IMAGE } from '../peers/podman.ts';

// The Docker-host target against a real Docker Engine API (podman's), with real containers serving HTTP.
const socket = podmanSocket();
const describeWithPodman = socket ? describe : describe.skip;
if (!socket) console.warn('deploy-docker: no TEST_DOCKER_SOCKET (scripts/services.sh ensure_podman): skipped');

let ctx: Awaited<ReturnType<typeof peerContext>>;
let docker: Docker;
let activities: ReturnType<typeof createDeployActivities>;
const prefix = `dt-${crypto.randomUUID().slice(0, 6)}`;

beforeAll(async () => {
  if (!socket) return;
  buildTestImages();
  ctx = await peerContext();
  docker = dockerClient(socket);
  activities = createDeployActivities({ em: ctx.db.em, events: ctx.events, keyring: keyringFromConfig(ctx.config), databaseUrl: ctx.config.DATABASE_URL, pollMs: 100 });
});
afterAll(async () => {
  if (docker) await removeContainers(docker, prefix);
  await ctx?.close();
});

const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
const call = <I, O>(fn: (input: I) => Promise<O>, input: I): Promise<O> =>
  new MockActivityEnvironment({ attempt: 1, heartbeatTimeoutMs: 10_000 }, { logger: quiet }).run(fn, input) as Promise<O>;

/** A team with a docker integration, a live container `name` serving v1 on the first slot, and deploy params for `tag`. */
async function setup(tag: string, opts: { pull?: 'never' | 'missing'; timeoutSeconds?: number } = {}) {
  const run = await createRunWithTeam(ctx.db.em, 'deploy');
  const integration = await storeIntegration(ctx.db.em, keyringFromConfig(ctx.config), run.teamId, 'docker', { endpoint: `unix://${socket}` });
  const name = `${prefix}-${crypto.randomUUID().slice(0, 6)}`;
  const slots = (await freePorts(2)) as [number, number];
  await runService(docker, { name, tag: 'v1', port: slots[0], env: { GREETING: 'hello' } });
  await until200(`http://127.0.0.1:${slots[0]}/`);
  const params = deployParamsSchema.parse({
    target: {
      platform: 'docker',
      integration,
      container: name,
      image: `${TEST_IMAGE}:${tag}`,
      env: { VERSION: tag },
      pull: opts.pull ?? 'never',
      ports: { env: 'PORT', slots },
      health: { url: 'http://127.0.0.1:{port}/healthz', timeoutSeconds: opts.timeoutSeconds ?? 3 },
      stopTimeoutSeconds: 1,
    },
  });
  return { ...run, params, name, slots };
}

async function until200(url: string) {
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(url).then((r) => r.status === 200, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} never answered 200`);
}
const body = (port: number) => fetch(`http://127.0.0.1:${port}/`).then((r) => r.text()).then((t) => t.trim());

describeWithPodman('deploy to a Docker host', () => {
  it('shows the diff, starts the new version beside the old, switches when healthy and keeps the old one stopped', async () => {
    const s = await setup('v2');
    const plan: DeployPlan = await call(activities.deployPlan, s);
    expect(plan.changes).toEqual([
      { container: s.name, field: 'image', from: `${TEST_IMAGE}:v1`, to: `${TEST_IMAGE}:v2` },
      { container: s.name, field: 'env.VERSION', from: '(set)', to: '(set)' },
      { container: s.name, field: 'port', from: String(s.slots[0]), to: String(s.slots[1]) },
    ]);
    expect(plan.rollbackPoint).toMatchObject({ platform: 'docker', image: `${TEST_IMAGE}:v1`, port: s.slots[0] });

    const load = loadLoop(() => `http://127.0.0.1:${s.slots[0]}/`);
    const result = await call(activities.deployRollout, { ...s, plan });
    expect(result).toEqual({ live: { [s.name]: `${TEST_IMAGE}:v2` } });
    expect(await body(s.slots[1])).toBe('v2');

    const live = await docker.getContainer(s.name).inspect();
    expect(live.Config.Image).toBe(`${TEST_IMAGE}:v2`);
    expect(live.State.Running).toBe(true);
    // Same settings as the old container: its own env carried over, the image's defaults left to the image.
    expect(live.Config.Env).toEqual(expect.arrayContaining(['GREETING=hello', 'VERSION=v2', `PORT=${s.slots[1]}`]));
    const previous = await docker.getContainer(`${s.name}--previous`).inspect();
    expect(previous).toMatchObject({ Id: plan.rollbackPoint.platform === 'docker' ? plan.rollbackPoint.containerId : '', State: { Running: false } });
    const { ok } = await load.stop();
    // The old one served until it was stopped after the switch; now its slot is free for the next version.
    expect(ok).toBeGreaterThan(0);
    await expect(fetch(`http://127.0.0.1:${s.slots[0]}/`)).rejects.toThrow();

    // The same step again (a retry after a worker died) does not deploy twice.
    expect(await call(activities.deployRollout, { ...s, plan })).toEqual(result);
    expect((await docker.getContainer(s.name).inspect()).Id).toBe(live.Id);

    // Rollback puts the recorded version back under the service's name, on its old port.
    const back = await call(activities.deployRollback, { ...s, plan });
    expect(back).toEqual({ live: { [s.name]: `${TEST_IMAGE}:v1` }, changed: true });
    expect(await body(s.slots[0])).toBe('v1');
    expect((await docker.getContainer(s.name).inspect()).Id).toBe(previous.Id);
    // The rollback again (its answer was lost): it still says the version was switched back.
    expect(await call(activities.deployRollback, { ...s, plan })).toEqual(back);
  });

  // An attempt that missed its heartbeat timeout while alive is replaced by a new one before it learns so.
  it('two attempts of one rollout at once: the second waits for the first, and the old version is kept', async () => {
    const s = await setup('v2');
    const plan = await call(activities.deployPlan, s);
    const [first, second] = await Promise.all([call(activities.deployRollout, { ...s, plan }), call(activities.deployRollout, { ...s, plan })]);
    expect([first, second]).toEqual([{ live: { [s.name]: `${TEST_IMAGE}:v2` } }, { live: { [s.name]: `${TEST_IMAGE}:v2` } }]);
    expect(await body(s.slots[1])).toBe('v2');
    const previous = await docker.getContainer(`${s.name}--previous`).inspect();
    expect(previous.Id).toBe(plan.rollbackPoint.platform === 'docker' ? plan.rollbackPoint.containerId : '');
  });

  it('a rollback repeated after a worker died mid-switch finishes it: the new version never keeps running', async () => {
    const running = async (name: string) => (await docker.listContainers({ all: true, filters: { name: [`^/${name}$`] } })).map((c) => c.State);
    for (const diedAfter of ['renaming the new version aside', 'putting the previous version back']) {
      const s = await setup('v2');
      const plan = await call(activities.deployPlan, s);
      await call(activities.deployRollout, { ...s, plan });
      // What the Docker host shows when the first attempt's worker was killed at that point of the switch.
      const failed = `${s.name}--failed-${s.runId.slice(0, 8)}`;
      await docker.getContainer(`${s.name}--previous`).start();
      await until200(`http://127.0.0.1:${s.slots[0]}/`);
      await docker.getContainer(s.name).rename({ name: failed });
      if (diedAfter === 'putting the previous version back') await docker.getContainer(`${s.name}--previous`).rename({ name: s.name });

      expect(await call(activities.deployRollback, { ...s, plan })).toEqual({ live: { [s.name]: `${TEST_IMAGE}:v1` }, changed: true });
      expect(await body(s.slots[0])).toBe('v1');
      expect(await running(failed)).toEqual([]);
      await expect(fetch(`http://127.0.0.1:${s.slots[1]}/`)).rejects.toThrow();
    }
  });

  it('leaves the old container serving throughout when the new one never becomes healthy', async () => {
    const s = await setup('sick', { timeoutSeconds: 2 });
    const plan = await call(activities.deployPlan, s);
    const load = loadLoop(() => `http://127.0.0.1:${s.slots[0]}/`);
    const err = await call(activities.deployRollout, { ...s, plan }).catch((e: unknown) => e);
    const { ok, failures } = await load.stop();
    expect(err).toMatchObject({ type: DEPLOY_FAILED });
    expect((err as Error).message).toMatch(/did not become healthy within 2s: http:\/\/127\.0\.0\.1:\d+\/healthz answered 404/);
    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(10);
    expect(await body(s.slots[0])).toBe('v1');
    const names = (await docker.listContainers({ all: true })).flatMap((c) => c.Names.map((n) => n.replace(/^\//, '')));
    expect(names.filter((n) => n.startsWith(s.name))).toEqual([s.name]);
    // Nothing was switched, so a rollback has nothing to undo.
    expect(await call(activities.deployRollback, { ...s, plan })).toEqual({ live: { [s.name]: `${TEST_IMAGE}:v1` }, changed: false });
  });

  it('says so clearly when the image is missing, the port is taken, or the container exits at once', async () => {
    const missing = await setup('no-such-tag');
    const plan1 = await call(activities.deployPlan, missing);
    await expect(call(activities.deployRollout, { ...missing, plan: plan1 })).rejects.toThrow(`image ${TEST_IMAGE}:no-such-tag is not on the Docker host (pull: never)`);
    const pulled = await setup('no-such-tag', { pull: 'missing' });
    await expect(call(activities.deployRollout, { ...pulled, plan: await call(activities.deployPlan, pulled) })).rejects.toThrow(/is not on the Docker host and could not be pulled/);

    const crash = await setup('crash');
    await expect(call(activities.deployRollout, { ...crash, plan: await call(activities.deployPlan, crash) })).rejects.toThrow(
      /the new container exited with code 3 right after starting: cannot start: missing config/,
    );

    const taken = await setup('v2');
    const squatter = http.createServer((_req, res) => res.end('someone else'));
    await new Promise<void>((resolve) => squatter.listen(taken.slots[1], '127.0.0.1', resolve));
    try {
      await expect(call(activities.deployRollout, { ...taken, plan: await call(activities.deployPlan, taken) })).rejects.toThrow(`port ${taken.slots[1]} is taken on the Docker host`);
    } finally {
      squatter.close();
    }
    for (const s of [missing, pulled, crash, taken]) expect(await body(s.slots[0])).toBe('v1');
  });

  it('refuses a deploy to a container that does not exist', async () => {
    const s = await setup('v2');
    const params = deployParamsSchema.parse({ ...s.params, target: { ...s.params.target, container: `${prefix}-absent` } });
    await expect(call(activities.deployPlan, { ...s, params })).rejects.toThrow(`container ${prefix}-absent not found on the Docker host`);
  });
});
